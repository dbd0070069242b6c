// Sentinel's one SQLite file (WAL): the audit trail, tool pins, kill switches
// and security events. Every Claude Code window runs its own gateway, so
// several processes open this file at once, often at the same instant: each
// waits for the others' locks (busy_timeout) instead of failing, and the
// schema is brought up to date under the write lock (migrations.ts).

import { Database } from "bun:sqlite";
import { dirnameOf } from "../config/paths.ts";
import { migrate } from "./migrations.ts";

/** How long a statement waits for another process's lock before failing. */
export const BUSY_TIMEOUT_MS = 5000;

export function openDatabase(path: string): Database {
  const db = open(path);
  // First, so that everything after it, switching to WAL included, waits for locks.
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  useWal(db);
  // WAL + NORMAL: durable across a crash of this process, no fsync per commit.
  db.exec("PRAGMA synchronous = NORMAL");
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

/**
 * Switching a new file to WAL needs an exclusive lock, and SQLite does not
 * always call the busy handler for it: of 16 processes switching one fresh
 * file together, about 1 in 300 still got SQLITE_BUSY at once with
 * busy_timeout set (measured, 20 rounds). So that case is retried, bounded
 * by the same timeout.
 */
function useWal(db: Database): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      db.exec("PRAGMA journal_mode = WAL");
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw err;
      Bun.sleepSync(5 + Math.random() * 20);
    }
  }
}
