// Sentinel's one SQLite file (WAL): the audit trail, tool pins, kill switches
// and security events. Schema versions are applied in order, tracked by
// PRAGMA user_version, so an older database is upgraded in place.

import { Database } from "bun:sqlite";
import { dirnameOf } from "../config/paths.ts";
import v1 from "./schema-v1.sql" with { type: "text" };
import v2 from "./schema-v2.sql" with { type: "text" };

const MIGRATIONS = [v1, v2];

export function openDatabase(path: string): Database {
  const db = open(path);
  db.exec("PRAGMA journal_mode = WAL");
  // WAL + NORMAL: durable across a crash of this process, no fsync per commit.
  db.exec("PRAGMA synchronous = NORMAL");
  db.exec("PRAGMA busy_timeout = 5000");
  migrate(db);
  return db;
}

function open(path: string): Database {
  try {
    return new Database(path, { create: true });
  } catch (err) {
    // First run: create the directory (node:fs only then; it costs idle memory).
    const { mkdirSync, existsSync } = require("node:fs") as typeof import("node:fs");
    if (existsSync(dirnameOf(path))) throw err;
    mkdirSync(dirnameOf(path), { recursive: true });
    return new Database(path, { create: true });
  }
}

function migrate(db: Database): void {
  let version = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  // Databases written before versioning have the calls table but version 0.
  if (version === 0 && db.query("SELECT 1 FROM sqlite_master WHERE name = 'calls'").get()) version = 1;
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    })();
  }
}
