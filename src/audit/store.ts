// The audit trail in an embedded SQLite database (WAL). Rows are queued and
// written in batches, one transaction per batch, after the responses have been
// sent: auditing never sits between a backend's answer and the client, and a
// commit (~50 µs here) is paid per batch rather than per call. A batch is
// written when it reaches BATCH_ROWS or BATCH_MS after its first row, and on close.

import type { Database, Statement } from "bun:sqlite";
import { logger } from "../log.ts";
import { openDatabase } from "../store/database.ts";

const log = logger("audit");
const BATCH_ROWS = 512;
const BATCH_MS = 50;

export type Outcome = "ok" | "error" | "denied";
export type Decision = "allowed" | "denied" | "rate_limited" | "disabled" | "unpinned";

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
  roles: string[] | null;
  decision: Decision | null;
  rule: string | null;
};

export class AuditStore {
  private queue: AuditRow[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly insert: Statement;
  private readonly writeAll: (rows: AuditRow[]) => void;

  private constructor(readonly db: Database) {
    this.insert = db.prepare(
      `INSERT INTO calls (ts, session, front, identity, method, backend, target, args, outcome, error_code, error, latency_us, roles, decision, rule)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.writeAll = db.transaction((rows: AuditRow[]) => {
      for (const r of rows) {
        const roles = r.roles ? JSON.stringify(r.roles) : null;
        this.insert.run(
          r.ts, r.session, r.front, r.identity, r.method, r.backend, r.target, r.args,
          r.outcome, r.errorCode, r.error, r.latencyUs, roles, r.decision, r.rule,
        );
      }
    });
  }

  static open(path: string): AuditStore {
    return new AuditStore(openDatabase(path));
  }

  /** On a database that is already open (shared with the pins and switches). */
  static on(db: Database): AuditStore {
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

  /** Deletes rows older than `cutoff` (epoch ms); returns how many. */
  prune(cutoff: number): number {
    this.flush();
    return this.db.run("DELETE FROM calls WHERE ts < ?", [cutoff]).changes;
  }

  close(): void {
    this.flush();
    this.db.close();
  }
}
