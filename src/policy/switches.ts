// Kill switches: `sentinel tools disable NAME` writes a row, and every gateway
// on the same database file stops offering and calling the tool within a
// refresh period, without a restart. NAME is an exposed tool name, a glob of
// them, or backend:<backend> for all of a backend's tools.

import type { Database, Statement } from "bun:sqlite";
import { compileGlobs } from "./glob.ts";

export type Switch = { name: string; disabledAt: number; reason: string | null };

const BACKEND = "backend:";

type SwitchRow = { name: string; disabled_at: number; reason: string | null };

export class Switches {
  private rows: Switch[] = [];
  private tools: (exposed: string) => boolean = () => false;
  private backends: (backend: string) => boolean = () => false;
  private readonly selectAll: Statement<SwitchRow, []>;
  private readonly upsert: Statement<unknown, [string, number, string | null]>;
  private readonly remove: Statement<unknown, [string]>;
  private readonly insertEvent: Statement<unknown, [number, string | null, string, string]>;
  private readonly dataVersion: Statement<{ data_version: number }, []>;
  private version: number;

  constructor(private readonly db: Database) {
    this.selectAll = db.prepare("SELECT name, disabled_at, reason FROM switches ORDER BY name");
    this.upsert = db.prepare("INSERT OR REPLACE INTO switches (name, disabled_at, reason) VALUES (?, ?, ?)");
    this.remove = db.prepare("DELETE FROM switches WHERE name = ?");
    this.insertEvent = db.prepare("INSERT INTO events (ts, kind, backend, target, detail) VALUES (?, 'switch', ?, ?, ?)");
    this.dataVersion = db.prepare("PRAGMA data_version");
    this.version = this.dataVersion.get()!.data_version;
    this.load();
  }

  // Writes take the write lock up front (immediate): other gateways share the
  // file, and a deferred transaction could fail with SQLITE_BUSY without waiting.
  disable(name: string, reason?: string, now = Date.now()): void {
    this.db.transaction(() => {
      this.upsert.run(name, now, reason ?? null);
      this.event(now, name, { action: "disable", ...(reason !== undefined && { reason }) });
    }).immediate();
    this.load();
  }

  /** False when NAME was not disabled. */
  enable(name: string, now = Date.now()): boolean {
    const removed = this.db.transaction(() => {
      if (this.remove.run(name).changes === 0) return false;
      this.event(now, name, { action: "enable" });
      return true;
    }).immediate();
    this.load();
    return removed;
  }

  list(): Switch[] {
    return this.rows;
  }

  isDisabled(exposedName: string, backend: string): boolean {
    return this.tools(exposedName) || this.backends(backend);
  }

  /**
   * Re-reads the switches when another connection has written to the file
   * since the last call; true when they changed. One PRAGMA otherwise.
   */
  refresh(): boolean {
    const version = this.dataVersion.get()!.data_version;
    if (version === this.version) return false;
    this.version = version;
    return this.load();
  }

  private load(): boolean {
    const rows = this.selectAll.all().map((r) => ({ name: r.name, disabledAt: r.disabled_at, reason: r.reason }));
    const changed = rows.length !== this.rows.length || rows.some((r, i) => r.name !== this.rows[i]!.name);
    this.rows = rows;
    if (!changed) return false;
    const names = rows.map((r) => r.name);
    this.tools = compileGlobs(names.filter((n) => !n.startsWith(BACKEND)));
    this.backends = compileGlobs(names.filter((n) => n.startsWith(BACKEND)).map((n) => n.slice(BACKEND.length)));
    return true;
  }

  private event(ts: number, name: string, detail: Record<string, unknown>): void {
    const backend = name.startsWith(BACKEND) ? name.slice(BACKEND.length) : null;
    this.insertEvent.run(ts, backend, name, JSON.stringify(detail));
  }
}
