// The audit trail in an embedded SQLite database (WAL). record() appends the
// row to this process's journal (one write(2), journal.ts) and queues it;
// queued rows are written in batches, one transaction per batch, after the
// responses have been sent: auditing never waits on SQLite between a backend's
// answer and the client, and a commit (~50 µs here) is paid per batch rather
// than per call. A batch is written when it reaches BATCH_ROWS or BATCH_MS
// after its first row, and on stop.
//
// The journals table says how many rows of each journal are in calls, updated
// in the same transaction as the rows: a gateway killed at any point has its
// journal folded by the next one to start, and no row is written twice.

import type { Database, Statement } from "bun:sqlite";
import { logger } from "../log.ts";
import { openDatabase } from "../store/database.ts";
import { Journal, journalLines, readJournal, removeFile, writerAlive } from "./journal.ts";
import type { AuditRow } from "./row.ts";

export type { AuditRow, Decision, Outcome } from "./row.ts";

const log = logger("audit");
const BATCH_ROWS = 512;
const BATCH_MS = 50;
// A journal is replaced by a fresh file after this many rows (~1.5 MB), once they are all in SQLite.
const JOURNAL_ROWS = 4096;

type JournalRow = { file: string; folded: number };

export class AuditStore {
  private queue: AuditRow[] = [];
  /** For /metrics: rows written, batches written and the seconds they took (ops/gateway-metrics.ts). */
  written = 0;
  batches = 0;
  batchSeconds = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private journal: Journal | null = null;
  /** Journals of this process deleted after rotation, whose rows in journals can go. */
  private retired: string[] = [];
  private readonly insert: Statement;
  private readonly journals: Statement<JournalRow, []>;
  private readonly register: Statement<unknown, [string]>;
  private readonly fold: Statement<unknown, [number, string]>;
  private readonly unregister: Statement<unknown, [string]>;

  private constructor(readonly db: Database) {
    this.insert = db.prepare(
      `INSERT INTO calls (ts, session, front, identity, method, backend, target, args, outcome, error_code, error, latency_us, roles, decision, rule, request_id, retries, view)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.journals = db.prepare("SELECT file, folded FROM journals ORDER BY file");
    this.register = db.prepare("INSERT OR IGNORE INTO journals (file, folded) VALUES (?, 0)");
    this.fold = db.prepare("UPDATE journals SET folded = ? WHERE file = ?");
    this.unregister = db.prepare("DELETE FROM journals WHERE file = ?");
  }

  /** Opens (and, for a file, journals and replays) the store at `path`: for tests and tools. */
  static open(path: string): AuditStore {
    const store = new AuditStore(openDatabase(path));
    store.start();
    return store;
  }

  /** On a database that is already open (shared with the pins and switches); start() begins journaling. */
  static on(db: Database): AuditStore {
    return new AuditStore(db);
  }

  /**
   * Folds the journals of gateways that are gone (killed, crashed) into the
   * database and starts this process's own journal. Liveness is a pid check
   * on this host: gateways sharing a database must share a pid namespace.
   */
  start(): void {
    if (this.journal) return;
    const file = this.db.filename;
    if (!file || file === ":memory:") return;
    const journal = new Journal(`${file}.journal`);
    if (this.foldGone(journal.dir, journal) && journal.open()) this.journal = journal;
  }

  /**
   * Folds what gateways that are gone left in their journals, without starting
   * a journal of its own: `sentinel audit` shows a killed gateway's last rows at once.
   */
  static recover(path: string): void {
    const store = new AuditStore(openDatabase(path));
    try {
      store.foldGone(`${path}.journal`, null);
    } finally {
      store.db.close();
    }
  }

  /**
   * Waits (at most `ms`) until the rows running gateways have journaled are in
   * the database `db` (a reader's connection to `path`) too: they write in batches (BATCH_MS), so a reader started
   * right after a call would otherwise miss it. False if it gave up waiting.
   */
  static async caughtUp(db: Database, path: string, ms = 10 * BATCH_MS): Promise<boolean> {
    const journals = db.prepare("SELECT file, folded FROM journals") as Statement<JournalRow, []>;
    const until = Date.now() + ms;
    for (;;) {
      const behind = journals.all().some((j) => writerAlive(j.file) && journalLines(`${path}.journal/${j.file}`) > j.folded);
      if (!behind) return true;
      if (Date.now() > until) return false;
      await Bun.sleep(BATCH_MS / 5);
    }
  }

  /** Folds dead gateways' journals and registers `mine` (if given), in one transaction; false if that failed. */
  private foldGone(dir: string, mine: Journal | null): boolean {
    let folded: { file: string; rows: number }[];
    try {
      folded = this.db.transaction(() => this.foldLeftovers(dir, mine)).immediate();
    } catch (err) {
      log.error(`cannot fold or register audit journals: ${(err as Error).message}; rows reach the database in batches only`);
      return false;
    }
    for (const f of folded) {
      removeFile(`${dir}/${f.file}`);
      if (f.rows > 0) log.info(`folded ${f.rows} audit rows from the journal of a gateway that stopped without closing (${f.file})`);
    }
    return true;
  }

  /** Rows journaled, not yet in the database. */
  get queued(): number {
    return this.queue.length;
  }

  record(row: AuditRow): void {
    this.journal?.append(row);
    this.queue.push(row);
    if (this.queue.length >= BATCH_ROWS) {
      setImmediate(() => this.flush());
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), BATCH_MS);
  }

  /** Writes the queued rows; false when the database refused them (they stay queued and journaled). */
  flush(): boolean {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queue.length === 0) return true;
    const rows = this.queue;
    this.queue = [];
    let next: Journal | null;
    const started = performance.now();
    try {
      // Immediate: a deferred transaction that turns into a write can fail at once with
      // SQLITE_BUSY when another gateway writes; this one waits (busy_timeout).
      next = this.db.transaction(() => this.write(rows)).immediate();
      this.batches++;
      this.batchSeconds += (performance.now() - started) / 1000;
      this.written += rows.length;
    } catch (err) {
      // Keep the rows for the next turn rather than lose them.
      log.error(`cannot write ${rows.length} audit rows: ${(err as Error).message}`);
      this.queue = rows.concat(this.queue);
      this.timer ??= setTimeout(() => this.flush(), 1000);
      return false;
    }
    this.retired = [];
    if (next) this.rotate(next);
    return true;
  }

  /** Deletes rows older than `cutoff` (epoch ms); returns how many. */
  prune(cutoff: number): number {
    this.flush();
    return this.db.run("DELETE FROM calls WHERE ts < ?", [cutoff]).changes;
  }

  /** Writes every queued row, then deletes this process's journal. */
  stop(): void {
    // Not written: the journal stays, and the next gateway to start folds it.
    if (!this.flush()) return;
    const journal = this.journal;
    this.journal = null;
    if (!journal) return;
    journal.discardNow();
    try {
      this.db
        .transaction(() => {
          for (const f of [journal.name, ...this.retired]) this.unregister.run(f);
        })
        .immediate();
      this.retired = [];
    } catch (err) {
      // Harmless: a journal that is gone has nothing to fold, and is unregistered by the next start.
      log.warn(`cannot unregister the audit journal: ${(err as Error).message}`);
    }
  }

  close(): void {
    this.stop();
    this.db.close();
  }

  /**
   * Inside the write lock, so that of two gateways starting together one folds
   * a journal and the other finds it gone: inserts what dead processes'
   * journals hold beyond their folded count, unregisters them, registers `mine`.
   */
  private foldLeftovers(dir: string, mine: Journal | null): { file: string; rows: number }[] {
    const done: { file: string; rows: number }[] = [];
    for (const j of this.journals.all()) {
      if (writerAlive(j.file)) continue;
      let rows: AuditRow[];
      try {
        rows = readJournal(`${dir}/${j.file}`, j.folded);
      } catch (err) {
        log.error(`cannot read audit journal ${j.file}: ${(err as Error).message}; left for a later start`);
        continue;
      }
      for (const r of rows) this.insertRow(r);
      this.unregister.run(j.file);
      done.push({ file: j.file, rows: rows.length });
    }
    if (mine) this.register.run(mine.name);
    return done;
  }

  /** Inside the batch transaction; returns the journal to continue in when this one is done. */
  private write(rows: AuditRow[]): Journal | null {
    for (const r of rows) this.insertRow(r);
    for (const f of this.retired) this.unregister.run(f);
    const journal = this.journal;
    if (!journal) return null;
    if (this.fold.run(journal.rows, journal.name).changes === 0) {
      // Only if another process took this one for dead (a different pid namespace) and folded its journal.
      log.warn(`audit journal ${journal.name} was folded by another process; some audit rows may be duplicated`);
    } else if (journal.rows < JOURNAL_ROWS) return null;
    const next = new Journal(journal.dir);
    this.register.run(next.name);
    return next;
  }

  private rotate(next: Journal): void {
    const done = this.journal!;
    this.journal = next.open() ? next : null;
    // Its row goes (in a later batch) only once the file is gone: until then a crash leaves both for the next start.
    void done.discard().then(() => this.retired.push(done.name));
  }

  private insertRow(r: AuditRow): void {
    const roles = r.roles ? JSON.stringify(r.roles) : null;
    this.insert.run(
      r.ts, r.session, r.front, r.identity, r.method, r.backend, r.target, r.args,
      r.outcome, r.errorCode, r.error, r.latencyUs, roles, r.decision, r.rule, r.requestId ?? null, r.retries || null,
      r.view ?? null,
    );
  }
}
