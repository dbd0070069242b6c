// Probed era verdicts (backends/era-probe.ts), shared through the database by
// every gateway on it: a stdio probe spawns a process, and a dozen Claude Code
// windows starting together should spawn it once, not a dozen times. The
// database opens after the backends are built (gateway.start()), so it is
// reached through a getter; before that, and without one, nothing is cached.

import type { Database, Statement } from "bun:sqlite";
import type { Era } from "../backends/era-probe.ts";

export type EraVerdict = { era: Era; probedAt: number };

type Statements = {
  get: Statement<{ era: string; probed_at: number }, [string]>;
  put: Statement<unknown, [string, string, number]>;
  forget: Statement<unknown, [string]>;
};

export class EraVerdicts {
  private prepared: { db: Database; s: Statements } | null = null;

  constructor(private readonly database: () => Database | null) {}

  // A cache: a busy or closed database costs a probe, never a connection.
  get(key: string): EraVerdict | null {
    try {
      const row = this.statements()?.get.get(key);
      if (!row || (row.era !== "legacy" && row.era !== "modern")) return null;
      return { era: row.era, probedAt: row.probed_at };
    } catch {
      return null;
    }
  }

  put(key: string, era: Era, probedAt = Date.now()): void {
    try {
      this.statements()?.put.run(key, era, probedAt);
    } catch {}
  }

  forget(key: string): void {
    try {
      this.statements()?.forget.run(key);
    } catch {}
  }

  private statements(): Statements | null {
    const db = this.database();
    if (!db) return null;
    if (this.prepared?.db !== db) {
      this.prepared = {
        db,
        s: {
          get: db.query("SELECT era, probed_at FROM era_verdicts WHERE key = ?"),
          put: db.query("INSERT INTO era_verdicts (key, era, probed_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET era = excluded.era, probed_at = excluded.probed_at"),
          forget: db.query("DELETE FROM era_verdicts WHERE key = ?"),
        },
      };
    }
    return this.prepared.s;
  }
}
