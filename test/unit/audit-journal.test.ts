// The audit journal: rows survive the death of the process that recorded them,
// are folded into SQLite exactly once, and the files do not pile up. Crashes
// are real (a child process killed with SIGKILL), the database is real SQLite.

import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AuditStore, type AuditRow } from "../../src/audit/store.ts";
import { openDatabase } from "../../src/store/database.ts";
import { eventually } from "../e2e/harness.ts";

const root = mkdtempSync(join(tmpdir(), "sentinel-journal-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `audit-${n++}.db`);
const STORE = resolve(import.meta.dir, "../../src/audit/store.ts");

function row(i: number): AuditRow {
  return {
    ts: 1_700_000_000_000 + i,
    session: "s",
    front: "stdio",
    identity: "alice",
    method: "tools/call",
    backend: "echo",
    target: `echo__t${i}`,
    args: JSON.stringify({ i, text: "ünïcode\nand a newline" }),
    outcome: "ok",
    errorCode: null,
    error: null,
    latencyUs: i,
    roles: ["dev"],
    decision: "allowed",
    rule: null,
  };
}

/** A journal line as record() writes it. */
function line(r: AuditRow): string {
  const values = [r.ts, r.session, r.front, r.identity, r.method, r.backend, r.target, r.args, r.outcome, r.errorCode, r.error, r.latencyUs, r.roles, r.decision, r.rule];
  return JSON.stringify([...values, r.requestId ?? null, r.retries ?? 0]) + "\n";
}

function targets(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (db.query("SELECT target FROM calls ORDER BY id").all() as { target: string }[]).map((r) => r.target);
  } finally {
    db.close();
  }
}

function registered(path: string): { file: string; folded: number }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.query("SELECT file, folded FROM journals ORDER BY file").all() as { file: string; folded: number }[];
  } finally {
    db.close();
  }
}

/** A journal's rows as text: a mapped journal (Linux, macOS) is zeros after its last row. */
function journalText(file: string): string {
  const text = readFileSync(file, "utf8");
  const zeros = text.indexOf("\0");
  if (process.platform === "linux") expect(zeros).toBeGreaterThan(0);
  return zeros < 0 ? text : text.slice(0, zeros);
}

const journalFiles = (path: string) => (existsSync(`${path}.journal`) ? readdirSync(`${path}.journal`) : []);

/** A pid that was just in use and is not any more. */
async function deadPid(): Promise<number> {
  const p = Bun.spawn(["true"]);
  await p.exited;
  return p.pid;
}

/** Runs a store in a child that records `count` rows, says so, and waits to be killed. */
async function recordAndHang(path: string, count: number): Promise<Bun.Subprocess> {
  const script = `
    const { AuditStore } = await import(${JSON.stringify(STORE)});
    const store = AuditStore.open(${JSON.stringify(path)});
    const row = (i) => (${row.toString()})(i);
    for (let i = 0; i < ${count}; i++) store.record(row(i));
    console.log("recorded");
    setInterval(() => {}, 1000);`;
  const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
  const { value } = await proc.stdout.getReader().read();
  expect(new TextDecoder().decode(value)).toContain("recorded");
  return proc;
}

describe("audit journal", () => {
  test("record() has written the row to the journal when it returns", () => {
    const path = fresh();
    const store = AuditStore.open(path);
    try {
      store.record(row(1));
      const [file] = journalFiles(path);
      const text = journalText(join(`${path}.journal`, file!));
      expect(text).toBe(line(row(1)));
      expect(targets(path)).toEqual([]); // not yet in SQLite
    } finally {
      store.close();
    }
  });

  test("rows of a gateway killed with SIGKILL are folded by the next store, exactly once", async () => {
    const path = fresh();
    const child = await recordAndHang(path, 300);
    child.kill("SIGKILL");
    await child.exited;
    expect(journalFiles(path).length).toBe(1);

    const store = AuditStore.open(path);
    const expected = Array.from({ length: 300 }, (_, i) => `echo__t${i}`);
    expect(targets(path)).toEqual(expected);
    store.close();
    // Replaying again finds nothing left: no duplicates.
    AuditStore.open(path).close();
    expect(targets(path)).toEqual(expected);
    expect(journalFiles(path)).toEqual([]);
    expect(registered(path)).toEqual([]);
    // Every column came back as recorded.
    const db = new Database(path, { readonly: true });
    expect(db.query("SELECT ts, args, roles, decision, latency_us FROM calls WHERE target = 'echo__t7'").get()).toEqual({
      ts: row(7).ts,
      args: row(7).args,
      roles: '["dev"]',
      decision: "allowed",
      latency_us: 7,
    });
    db.close();
  });

  test("a reader waits for rows a running gateway has journaled but not yet batched (sentinel audit right after a call)", async () => {
    const path = fresh();
    const store = AuditStore.open(path);
    try {
      store.record(row(1));
      store.record(row(2));
      expect(targets(path)).toEqual([]); // journaled, the batch not written yet
      const reader = new Database(path, { readonly: true });
      try {
        expect(await AuditStore.caughtUp(reader, path, 2000)).toBe(true);
      } finally {
        reader.close();
      }
      expect(targets(path)).toEqual(["echo__t1", "echo__t2"]);
    } finally {
      store.close();
    }
  });

  test("a journal that outgrows its first MiB (large rows) keeps every row through SIGKILL", async () => {
    const path = fresh();
    // ~90 KB of arguments per row: 40 rows need the file grown three times.
    const script = `
      import { AuditStore } from ${JSON.stringify(join(import.meta.dir, "../../src/audit/store.ts"))};
      const store = AuditStore.open(${JSON.stringify(path)});
      const row = (i) => ({ ...(${row.toString()})(i), args: JSON.stringify({ i, blob: "é".repeat(45000) }) });
      for (let i = 0; i < 40; i++) store.record(row(i));
      console.log("recorded");
      setInterval(() => {}, 1000);`;
    const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
    expect(new TextDecoder().decode((await child.stdout.getReader().read()).value)).toContain("recorded");
    child.kill("SIGKILL");
    await child.exited;
    const store = AuditStore.open(path);
    store.close();
    expect(targets(path)).toEqual(Array.from({ length: 40 }, (_, i) => `echo__t${i}`));
  });

  test("rows already folded before a crash are not folded again; an unfinished last line is left out", async () => {
    const path = fresh();
    openDatabase(path).close();
    const name = `${await deadPid()}-deadbeef.jsonl`;
    mkdirSync(`${path}.journal`, { recursive: true });
    // Five rows written, the first three committed (the crash came before the file was removed).
    writeFileSync(join(`${path}.journal`, name), [0, 1, 2, 3, 4].map((i) => line(row(i))).join("") + '[1700000000005,"s","std');
    const db = openDatabase(path);
    db.run("INSERT INTO journals (file, folded) VALUES (?, 3)", [name]);
    db.close();

    AuditStore.open(path).close();
    expect(targets(path)).toEqual(["echo__t3", "echo__t4"]);
    expect(journalFiles(path)).toEqual([]);
    expect(registered(path)).toEqual([]);
  });

  test("a journal an older build left (rows without request id and retries) is folded too", async () => {
    const path = fresh();
    openDatabase(path).close();
    const name = `${await deadPid()}-0000beef.jsonl`;
    mkdirSync(`${path}.journal`, { recursive: true });
    const old = (r: AuditRow) => JSON.stringify(JSON.parse(line(r)).slice(0, 15)) + "\n";
    writeFileSync(join(`${path}.journal`, name), [7, 8].map((i) => old(row(i))).join(""));
    // As that build registered it when it opened the journal.
    const db = openDatabase(path);
    db.run("INSERT INTO journals (file, folded) VALUES (?, 0)", [name]);
    db.close();
    AuditStore.open(path).close();
    expect(targets(path)).toEqual(["echo__t7", "echo__t8"]);
  });

  test("the journal of a live process is left alone", () => {
    const path = fresh();
    openDatabase(path).close();
    const name = `${process.ppid}-cafef00d.jsonl`; // the process that runs this test: alive
    mkdirSync(`${path}.journal`, { recursive: true });
    writeFileSync(join(`${path}.journal`, name), line(row(1)));
    const db = openDatabase(path);
    db.run("INSERT INTO journals (file, folded) VALUES (?, 0)", [name]);
    db.close();

    AuditStore.open(path).close();
    expect(targets(path)).toEqual([]);
    expect(journalFiles(path)).toEqual([name]);
    expect(registered(path)).toEqual([{ file: name, folded: 0 }]);
  });

  test("two stores in one process do not fold each other's journals", () => {
    const path = fresh();
    const a = AuditStore.open(path);
    a.record(row(1));
    const b = AuditStore.open(path);
    b.record(row(2));
    a.close();
    b.close();
    expect(targets(path).sort()).toEqual(["echo__t1", "echo__t2"]);
  });

  test("a full journal is replaced by a new file once its rows are in SQLite", async () => {
    const path = fresh();
    const store = AuditStore.open(path);
    let k = 0;
    try {
      const [first] = journalFiles(path);
      for (; k < 4100; k++) store.record(row(k));
      expect(store.flush()).toBe(true);
      await eventually(() => journalFiles(path).length === 1 && journalFiles(path)[0] !== first);
      const [second] = journalFiles(path);
      store.record(row(k++));
      expect(journalText(join(`${path}.journal`, second!))).toBe(line(row(4100)));
      // The first file's registration goes with a batch after the file is gone.
      await eventually(() => {
        store.record(row(k++));
        store.flush();
        return registered(path).length === 1;
      });
      expect(registered(path)).toEqual([{ file: second!, folded: k - 4100 }]);
      expect(targets(path).length).toBe(k);
    } finally {
      store.close();
    }
    expect(journalFiles(path)).toEqual([]);
  });

  test("a clean close writes every row and removes the journal", () => {
    const path = fresh();
    const store = AuditStore.open(path);
    for (let i = 0; i < 10; i++) store.record(row(i));
    store.close();
    expect(targets(path).length).toBe(10);
    expect(journalFiles(path)).toEqual([]);
    expect(registered(path)).toEqual([]);
  });
});
