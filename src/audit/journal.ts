// One gateway process's audit journal: <db>.journal/<pid>-<random>.jsonl. Each
// row is in the file before record() returns, so once a client has seen an
// answer its row survives kill -9 of the gateway: the bytes are in the page
// cache (not fsynced: a power cut may still lose them). The store folds the
// journal into SQLite in its batches and starts a new file now and then; a
// gateway starting later folds what a dead process left behind.
//
// On Linux and macOS the file is made 1 MiB of zeros, grown as needed, and rows
// are copied into a shared memory map of it: no system call per row. A write(2)
// per row cost ~16 µs of a call's ~97 µs of gateway CPU here, the map ~0.3 µs
// (measured, Linux 6.18: each write also updates the file's times). Readers
// stop at the first NUL. Elsewhere, or if mapping fails, each row is one write(2).
//
// Writing goes through Bun's FileSink: in a compiled binary node:fs costs
// ~3.6 MB of idle RSS and its writeSync was slower here, FileSink ~0.3 MB
// (measured; a gateway's idle RSS did not change measurably). node:fs is loaded
// only to create the directory (first run), to read a dead process's journal
// and to remove a journal at shutdown.

import type { FileSink } from "bun";
import { logger } from "../log.ts";
import type { AuditRow } from "./row.ts";

const log = logger("audit");
const MAP_STEP = 1024 * 1024;
const MAPS = process.platform === "linux" || process.platform === "darwin";
const encoder = new TextEncoder();

/** Journals open in this process: another store here (a test, a tool) must not take them for a dead process's. */
const openHere = new Set<string>();

export class Journal {
  readonly path: string;
  /** Rows written to this file. */
  rows = 0;
  private sink: FileSink | null = null;
  /** The file, mapped; `at`: where the next row goes. Null: rows are written with the sink. */
  private map: Uint8Array | null = null;
  private at = 0;

  constructor(
    readonly dir: string,
    readonly name = `${process.pid}-${Math.random().toString(16).slice(2, 10)}.jsonl`,
  ) {
    this.path = `${dir}/${name}`;
  }

  /** Creates the file (and on first run the directory); false when that failed. */
  open(): boolean {
    try {
      this.sink = Bun.file(this.path).writer();
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") return this.failed(err);
      try {
        (require("node:fs") as typeof import("node:fs")).mkdirSync(this.dir, { recursive: true });
        this.sink = Bun.file(this.path).writer();
      } catch (again) {
        return this.failed(again);
      }
    }
    openHere.add(this.name);
    if (MAPS) this.mapFile(MAP_STEP);
    return true;
  }

  /** Grows the file by `bytes` of zeros and maps all of it. A new file that cannot be mapped is written row by row instead. */
  private mapFile(bytes: number): void {
    try {
      this.sink!.write(new Uint8Array(bytes));
      this.sink!.flush();
      this.map = Bun.mmap(this.path);
    } catch (err) {
      if (this.rows > 0) return void this.failed(err);
      log.warn(`audit journal ${this.path}: cannot map it (${(err as Error).message}); one write per row instead`);
      this.endSink();
      // The writer starts the file over: no zeros before the rows, which readers would stop at.
      this.sink = Bun.file(this.path).writer();
    }
  }

  /** One line, in the map or with one write(2); the row then also goes to SQLite in the next batch. */
  append(row: AuditRow): void {
    if (!this.sink) return;
    try {
      const line = encode(row);
      if (this.map) this.put(line);
      else {
        this.sink.write(line);
        this.sink.flush();
      }
      this.rows++;
    } catch (err) {
      this.failed(err);
    }
  }

  /** Copies a line into the map; one that does not fit is copied again, whole, once the file has grown. */
  private put(line: string): void {
    const done = encoder.encodeInto(line, this.map!.subarray(this.at));
    if (done.read === line.length) {
      this.at += done.written;
      return;
    }
    this.mapFile(Math.max(MAP_STEP, Buffer.byteLength(line)));
    if (this.map) this.at += encoder.encodeInto(line, this.map.subarray(this.at)).written;
  }

  /** For a journal whose rows are all in SQLite: closes and deletes it; resolves once it is gone. */
  discard(): Promise<void> {
    this.endSink();
    openHere.delete(this.name);
    return Bun.file(this.path)
      .delete()
      .catch(() => {});
  }

  /** Likewise, at once (at shutdown). */
  discardNow(): void {
    this.endSink();
    openHere.delete(this.name);
    removeFile(this.path);
  }

  private endSink(): void {
    this.map = null;
    try {
      this.sink?.end();
    } catch {
      // Closing a file we failed to write to: nothing left to save.
    }
    this.sink = null;
  }

  private failed(err: unknown): false {
    log.error(`audit journal ${this.path}: ${(err as Error).message}; rows reach the database in batches only, and a crash may lose the last of them`);
    this.endSink();
    return false;
  }
}

/** Whether the process that wrote journal `name` may still be running (on this host: its pid is alive). */
export function writerAlive(name: string): boolean {
  if (openHere.has(name)) return true;
  const pid = Number(name.slice(0, name.indexOf("-")));
  // Our own pid on a journal not open here: a previous process's (e.g. a container's pid 1).
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

/** How many whole rows a journal holds (0 when it cannot be read). */
export function journalLines(path: string): number {
  let text: string | null;
  try {
    text = journalText(path);
  } catch {
    return 0;
  }
  let n = 0;
  for (let i = text?.indexOf("\n") ?? -1; i !== -1; i = text!.indexOf("\n", i + 1)) n++;
  return n;
}

/** A journal's text up to the zeros a mapped one ends in; null when it is gone. */
function journalText(path: string): string | null {
  let text: string;
  try {
    text = (require("node:fs") as typeof import("node:fs")).readFileSync(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return null;
    throw err;
  }
  const zeros = text.indexOf("\0");
  return zeros < 0 ? text : text.slice(0, zeros);
}

/** The rows of a journal after its first `skip` lines; an unfinished last line is left out. */
export function readJournal(path: string, skip: number): AuditRow[] {
  const text = journalText(path);
  if (text === null) return [];
  const lines = text.split("\n");
  lines.pop(); // after the last newline: empty, or a line whose write never finished
  const rows: AuditRow[] = [];
  for (const line of lines.slice(skip)) {
    try {
      rows.push(decode(line));
    } catch {
      log.warn(`audit journal ${path}: skipping an unreadable line: ${line.slice(0, 200)}`);
    }
  }
  return rows;
}

export function removeFile(path: string): void {
  try {
    (require("node:fs") as typeof import("node:fs")).unlinkSync(path);
  } catch {
    // Already gone, or another gateway removed it first.
  }
}

// A line is the row's values in a fixed order: shorter and faster to write than an object.
// The view comes last and only when there is one: rows of the full view are written as before.
function encode(r: AuditRow): string {
  const values = [
    r.ts, r.session, r.front, r.identity, r.method, r.backend, r.target, r.args,
    r.outcome, r.errorCode, r.error, r.latencyUs, r.roles, r.decision, r.rule, r.requestId ?? null, r.retries ?? 0,
  ];
  if (r.view) values.push(r.view);
  return JSON.stringify(values) + "\n";
}

function decode(line: string): AuditRow {
  const v = JSON.parse(line);
  // 15 values: a journal an older build left; 18: a row in a view.
  if (!Array.isArray(v) || (v.length !== 15 && v.length !== 17 && v.length !== 18)) throw new Error("not a journal row");
  const [ts, session, front, identity, method, backend, target, args, outcome, errorCode, error, latencyUs, roles, decision, rule, requestId = null, retries = 0, view = null] =
    v;
  return { ts, session, front, identity, method, backend, target, args, outcome, errorCode, error, latencyUs, roles, decision, rule, requestId, retries, view };
}
