// The schema, one step per PRAGMA user_version. Several gateways open the same
// file at once (one per Claude Code window), so migrating runs under the write
// lock and every step may run again on a database where it already ran, fully
// or in part: an older build could leave the v2 columns added but user_version
// at 1, and the v2 tables missing.

import type { Database } from "bun:sqlite";
import v1 from "./schema-v1.sql" with { type: "text" };
import v2 from "./schema-v2.sql" with { type: "text" };
import v3 from "./schema-v3.sql" with { type: "text" };
import v4 from "./schema-v4.sql" with { type: "text" };
import v5 from "./schema-v5.sql" with { type: "text" };
import v6 from "./schema-v6.sql" with { type: "text" };
import v7 from "./schema-v7.sql" with { type: "text" };

type Step = (db: Database) => void;

export const STEPS: readonly Step[] = [
  (db) => db.exec(v1),
  (db) => {
    addColumn(db, "calls", "roles", "TEXT"); // JSON array
    addColumn(db, "calls", "decision", "TEXT"); // allowed | denied | rate_limited | disabled | unpinned
    addColumn(db, "calls", "rule", "TEXT"); // the rule that decided, e.g. developer.deny[0]
    db.exec(v2);
  },
  (db) => db.exec(v3),
  (db) => db.exec(v4),
  (db) => {
    addColumn(db, "calls", "request_id", "TEXT");
    addColumn(db, "calls", "retries", "INTEGER"); // null: none
    db.exec(v5);
  },
  (db) => {
    addColumn(db, "calls", "view", "TEXT"); // null: the full view
    db.exec(v6);
  },
  (db) => db.exec(v7),
];

export const SCHEMA_VERSION = STEPS.length;

export function userVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/**
 * Brings the schema to SCHEMA_VERSION. The version is read again inside an
 * immediate transaction, so of several processes starting together one
 * migrates and the others find the work done. A database from before
 * versioning (a calls table, user_version 0) simply runs every step.
 */
export function migrate(db: Database): void {
  if (userVersion(db) >= SCHEMA_VERSION) return;
  db.transaction(() => {
    const from = userVersion(db);
    if (from >= SCHEMA_VERSION) return;
    for (let v = from; v < SCHEMA_VERSION; v++) STEPS[v]!(db);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

function addColumn(db: Database, table: string, column: string, type: string): void {
  const columns = db.query(`PRAGMA table_info(${table})`).all() as { name: string }[];
  if (columns.some((c) => c.name === column)) return;
  db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
}
