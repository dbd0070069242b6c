// Reading the audit trail back: filters compiled to one parameterized query.

import { Database } from "bun:sqlite";

export type AuditFilter = {
  sinceMs?: number;
  afterId?: number;
  target?: string;
  backend?: string;
  outcome?: string;
  identity?: string;
  method?: string;
  decision?: string;
  limit: number;
};

export type AuditRecord = {
  id: number;
  ts: number;
  session: string | null;
  front: string;
  identity: string;
  method: string;
  backend: string | null;
  target: string | null;
  args: string | null;
  outcome: string;
  error_code: number | null;
  error: string | null;
  latency_us: number;
  roles: string | null;
  decision: string | null;
  rule: string | null;
  request_id: string | null;
  retries: number | null;
  /** The view the request came in through; null: the full view. */
  view: string | null;
};

export type SecurityEvent = { id: number; ts: number; kind: string; backend: string | null; target: string | null; detail: string | null };

export function openReadOnly(path: string): Database {
  return new Database(path, { readonly: true });
}

/** Newest `limit` rows matching the filter, returned oldest first. */
export function queryAudit(db: Database, f: AuditFilter): AuditRecord[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (sql: string, value: string | number | undefined) => {
    if (value === undefined) return;
    where.push(sql);
    params.push(value);
  };
  add("ts >= ?", f.sinceMs);
  add("id > ?", f.afterId);
  // Tool names are globs: "n8n__*".
  add("target GLOB ?", f.target);
  add("backend = ?", f.backend);
  add("outcome = ?", f.outcome);
  add("identity = ?", f.identity);
  add("method = ?", f.method);
  add("decision = ?", f.decision);
  const sql = `SELECT * FROM calls ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`;
  return (db.query(sql).all(...params, f.limit) as AuditRecord[]).reverse();
}

/** Security events (tool definition changes, suspicious tools, approvals, switches), oldest first. */
export function queryEvents(db: Database, sinceMs: number | undefined, limit: number): SecurityEvent[] {
  const rows = db.query("SELECT * FROM events WHERE ts >= ? ORDER BY id DESC LIMIT ?").all(sinceMs ?? 0, limit) as SecurityEvent[];
  return rows.reverse();
}
