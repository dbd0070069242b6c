// The audit trail in an embedded SQLite database (WAL). Rows are queued and
// written in batches, one transaction per batch, after the responses have been
// sent: auditing never sits between a backend's answer and the client, and a
// commit (~50 µs here) is paid per batch rather than per call. A batch is
// written when it reaches BATCH_ROWS or BATCH_MS after its first row, and on close.

import { Database, type Statement } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { logger } from "../log.ts";
import schema from "./schema.sql" with { type: "text" };

const log = logger("audit");
const BATCH_ROWS = 512;
const BATCH_MS = 50;

export type Outcome = "ok" | "error" | "denied";

export type AuditRow = {
  ts: number;
  session: string | null;
  front: string;
  identity: string;
  method: string;
  backend: string | null;
  target: string | null;
  args: string | null;
  outcome: Outcome;
  errorCode: number | null;
  error: string | null;
  latencyUs: number;
};

export class AuditStore {
  private queue: AuditRow[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly insert: Statement;
  private readonly writeAll: (rows: AuditRow[]) => void;

  private constructor(private readonly db: Database) {
    this.insert = db.prepare(
      `INSERT INTO calls (ts, session, front, identity, method, backend, target, args, outcome, error_code, error, latency_us)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.writeAll = db.transaction((rows: AuditRow[]) => {
      for (const r of rows) {
        this.insert.run(r.ts, r.session, r.front, r.identity, r.method, r.backend, r.target, r.args, r.outcome, r.errorCode, r.error, r.latencyUs);
      }
    });
  }

  static open(path: string): AuditStore {
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { create: true });
    db.exec("PRAGMA journal_mode = WAL");
    // WAL + NORMAL: durable across a crash of this process, no fsync per row.
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec(schema);
    return new AuditStore(db);
  }

  record(row: AuditRow): void {
    this.queue.push(row);
    if (this.queue.length >= BATCH_ROWS) {
      setImmediate(() => this.flush());
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), BATCH_MS);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queue.length === 0) return;
    const rows = this.queue;
    this.queue = [];
    try {
      this.writeAll(rows);
    } catch (err) {
      // Keep the rows for the next turn rather than lose them.
      log.error(`cannot write ${rows.length} audit rows: ${(err as Error).message}`);
      this.queue = rows.concat(this.queue);
      this.timer ??= setTimeout(() => this.flush(), 1000);
    }
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
