import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openReadOnly, queryAudit } from "../../src/audit/query.ts";
import { AuditStore, type AuditRow } from "../../src/audit/store.ts";

let dir: string;
let dbPath: string;
const T0 = 1_700_000_000_000;

function row(i: number, over: Partial<AuditRow> = {}): AuditRow {
  return {
    ts: T0 + i * 1000,
    session: "s1",
    front: "stdio",
    identity: "alice",
    method: "tools/call",
    backend: "github",
    target: `github__tool${i}`,
    args: JSON.stringify({ i }),
    outcome: "ok",
    errorCode: null,
    error: null,
    latencyUs: 100 + i,
    roles: ["developer"],
    decision: "allowed",
    rule: "developer.allow[0]",
    ...over,
  };
}

// 0..9: github ok; 10..14: n8n, errors on even; 15: denied on slack.
const rows: AuditRow[] = [
  ...Array.from({ length: 10 }, (_, i) => row(i)),
  ...Array.from({ length: 5 }, (_, k) => {
    const i = 10 + k;
    return row(i, {
      backend: "n8n",
      target: `n8n__flow${i}`,
      identity: "bob",
      ...(i % 2 === 0 ? { outcome: "error" as const, errorCode: -32001, error: "timeout" } : {}),
    });
  }),
  row(15, { backend: "slack", target: "slack__post", outcome: "denied", method: "tools/call" }),
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sentinel-audit-test-"));
  dbPath = join(dir, "nested", "dir", "audit.db");
  const store = AuditStore.open(dbPath);
  for (const r of rows) store.record(r);
  store.close();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe("AuditStore", () => {
  test("creates the parent directory and uses WAL", () => {
    const db = new Database(dbPath);
    try {
      const mode = db.query("PRAGMA journal_mode").get() as { journal_mode: string };
      expect(mode.journal_mode.toLowerCase()).toBe("wal");
    } finally {
      db.close();
    }
  });

  test("close() flushes every queued row, in order, with all columns", () => {
    const db = openReadOnly(dbPath);
    try {
      const all = queryAudit(db, { limit: 1000 });
      expect(all.length).toBe(rows.length);
      expect(all.map((r) => r.target)).toEqual(rows.map((r) => r.target));
      const e = all.find((r) => r.target === "n8n__flow12")!;
      expect(e).toMatchObject({
        ts: T0 + 12_000,
        session: "s1",
        front: "stdio",
        identity: "bob",
        method: "tools/call",
        backend: "n8n",
        args: '{"i":12}',
        outcome: "error",
        error_code: -32001,
        error: "timeout",
        latency_us: 112,
      });
      expect(typeof e.id).toBe("number");
    } finally {
      db.close();
    }
  });

  test("record() writes a batch within ~50 ms without close()", async () => {
    const path = join(dir, "async.db");
    const store = AuditStore.open(path);
    try {
      // The batch timer calls flush(): waiting for that call, not for a guessed time, is waiting for the batch.
      const flushed = new Promise<boolean>((resolve) => {
        const flush = store.flush.bind(store);
        store.flush = () => {
          const written = flush();
          resolve(written);
          return written;
        };
      });
      store.record(row(1));
      store.record(row(2));
      const reader = new Database(path);
      try {
        expect(queryAudit(reader, { limit: 10 }).length).toBe(0);
        expect(await flushed).toBe(true);
        expect(queryAudit(reader, { limit: 10 }).map((r) => r.target)).toEqual(["github__tool1", "github__tool2"]);
      } finally {
        reader.close();
      }
    } finally {
      store.close();
    }
  });

  test("a full batch is written on the next turn, before the timer", async () => {
    const path = join(dir, "full.db");
    const store = AuditStore.open(path);
    try {
      for (let i = 0; i < 600; i++) store.record(row(i));
      await new Promise((r) => setImmediate(r));
      const reader = new Database(path);
      try {
        expect(queryAudit(reader, { limit: 1000 }).length).toBeGreaterThanOrEqual(512);
      } finally {
        reader.close();
      }
    } finally {
      store.close();
    }
  });

  test("reopening an existing store keeps its rows", () => {
    const path = join(dir, "reopen.db");
    let s = AuditStore.open(path);
    s.record(row(1));
    s.close();
    s = AuditStore.open(path);
    s.record(row(2));
    s.close();
    const db = openReadOnly(path);
    try {
      expect(queryAudit(db, { limit: 10 }).length).toBe(2);
    } finally {
      db.close();
    }
  });
});

describe("queryAudit", () => {
  let db: Database;
  beforeAll(() => {
    db = openReadOnly(dbPath);
  });
  afterAll(() => db.close());

  test("limit returns the newest N, oldest first", () => {
    const out = queryAudit(db, { limit: 3 });
    expect(out.map((r) => r.target)).toEqual(["n8n__flow13", "n8n__flow14", "slack__post"]);
    expect(out[0]!.id).toBeLessThan(out[1]!.id);
  });

  test("target GLOB", () => {
    const out = queryAudit(db, { target: "n8n__*", limit: 100 });
    expect(out.map((r) => r.target)).toEqual(["n8n__flow10", "n8n__flow11", "n8n__flow12", "n8n__flow13", "n8n__flow14"]);
    // GLOB is case-sensitive and anchored.
    expect(queryAudit(db, { target: "N8N__*", limit: 100 })).toEqual([]);
    expect(queryAudit(db, { target: "flow*", limit: 100 })).toEqual([]);
    expect(queryAudit(db, { target: "github__tool?", limit: 100 }).length).toBe(10);
  });

  test("outcome", () => {
    expect(queryAudit(db, { outcome: "error", limit: 100 }).map((r) => r.target)).toEqual([
      "n8n__flow10",
      "n8n__flow12",
      "n8n__flow14",
    ]);
    expect(queryAudit(db, { outcome: "denied", limit: 100 }).map((r) => r.target)).toEqual(["slack__post"]);
  });

  test("backend", () => {
    const out = queryAudit(db, { backend: "github", limit: 100 });
    expect(out.length).toBe(10);
    expect(out.every((r) => r.backend === "github")).toBe(true);
  });

  test("sinceMs is inclusive", () => {
    const out = queryAudit(db, { sinceMs: T0 + 13_000, limit: 100 });
    expect(out.map((r) => r.ts)).toEqual([T0 + 13_000, T0 + 14_000, T0 + 15_000]);
  });

  test("filters combine with AND, then limit applies", () => {
    const out = queryAudit(db, { backend: "n8n", outcome: "ok", identity: "bob", sinceMs: T0 + 10_000, limit: 1 });
    expect(out.map((r) => r.target)).toEqual(["n8n__flow13"]);
  });

  test("afterId and method", () => {
    const all = queryAudit(db, { limit: 100 });
    const out = queryAudit(db, { afterId: all[13]!.id, limit: 100 });
    expect(out.map((r) => r.target)).toEqual(["n8n__flow14", "slack__post"]);
    expect(queryAudit(db, { method: "resources/read", limit: 100 })).toEqual([]);
  });

  test("filter values are parameters, not SQL", () => {
    expect(queryAudit(db, { backend: "x' OR '1'='1", limit: 100 })).toEqual([]);
  });
});

describe("retention", () => {
  test("prune deletes rows older than the cutoff, queued ones included, and keeps the rest", () => {
    const path = join(dir, "prune.db");
    const store = AuditStore.open(path);
    try {
      for (let i = 0; i < 10; i++) store.record(row(i)); // ts = T0 + i s
      expect(store.prune(T0 + 5000)).toBe(5);
      const reader = new Database(path);
      try {
        expect(queryAudit(reader, { limit: 100 }).map((r) => r.ts)).toEqual([5, 6, 7, 8, 9].map((i) => T0 + i * 1000));
      } finally {
        reader.close();
      }
    } finally {
      store.close();
    }
  });
});
