// What the admin page reads and does, on the database file the gateway uses,
// through the same classes as `sentinel audit` and `sentinel tools ...`
// (queryAudit, Pins, Switches): a running gateway notices approvals and
// switches made here as it notices the CLI's, within its refresh period.
// Each action is also an audit row under the admin's identity.

import type { Database } from "bun:sqlite";
import { queryAudit, type AuditFilter, type AuditRecord } from "../audit/query.ts";
import type { AuditStore } from "../audit/store.ts";
import type { Principal } from "../auth/principal.ts";
import type { Backend } from "../backends/backend.ts";
import type { Config } from "../config/load.ts";
import { exposedName } from "../dispatch/names.ts";
import { lineDiff } from "../cli/tools-admin.ts";
import { PendingApprovals } from "../policy/approvals.ts";
import { PINNED_FIELDS, Pins } from "../policy/pins.ts";
import { Switches } from "../policy/switches.ts";
import { readiness } from "../ops/status.ts";
import { openDatabase } from "../store/database.ts";

/** What the admin page needs of the gateway; read per request, as a reload replaces config and backends. */
export type AdminGateway = {
  readonly config: Config;
  readonly backends: readonly Backend[];
  readonly live: { readonly inflight: number; readonly audit: AuditStore | null } | null;
};

export const PAGE_SIZE = 50;
const MAX_ROWS = 10_000;
const LATENCY_ROWS = 50_000;
const FILTERS = ["identity", "backend", "outcome", "method", "decision"] as const;

export class AdminApi {
  private opened: { db: Database; pins: Pins; switches: Switches; pending: PendingApprovals } | null = null;

  constructor(private readonly gateway: AdminGateway) {}

  /** The database, opened on first use (nothing at construction). */
  private get store() {
    if (!this.opened) {
      const db = openDatabase(this.gateway.config.audit.path);
      // Events are stored by Pins itself; nothing more to tell.
      this.opened = { db, pins: new Pins(db, this.gateway.config.pinning.mode, () => {}), switches: new Switches(db), pending: new PendingApprovals(db) };
    }
    return this.opened;
  }

  backends() {
    const live = this.gateway.live;
    const report = readiness(this.gateway.backends);
    const tools = new Map(this.gateway.backends.map((b) => [b.name, b.catalog.tools.length]));
    return { ready: report.ready, inflight: live?.inflight ?? 0, backends: report.backends.map((b) => ({ ...b, tools: tools.get(b.name) ?? 0 })) };
  }

  async restart(name: string, who: Principal): Promise<boolean> {
    const b = this.gateway.backends.find((b) => b.name === name);
    if (!b) return false;
    this.record(who, "admin/restart", name, null, b.name);
    await b.restart();
    return true;
  }

  /** The filter of `sentinel audit`, from the page's query string; a string when one is invalid. */
  filter(q: URLSearchParams, limit: number): AuditFilter | string {
    const f: AuditFilter = { limit };
    const since = q.get("since");
    if (since) {
      const ms = Date.parse(since);
      if (Number.isNaN(ms)) return "since: expected a date and time";
      f.sinceMs = ms;
    }
    const until = q.get("until");
    if (until && Number.isNaN(Date.parse(until))) return "until: expected a date and time";
    const tool = q.get("tool");
    if (tool) f.target = tool;
    for (const k of FILTERS) {
      const v = q.get(k);
      if (v) f[k] = v;
    }
    return f;
  }

  /**
   * One page of rows, newest first. queryAudit gives the newest N, so page p
   * reads (p+1) pages and keeps the last: cheap at the depths a person pages to.
   */
  audit(f: AuditFilter, page: number, until: number | null): { rows: AuditRecord[]; more: boolean } {
    const want = Math.min((page + 1) * PAGE_SIZE + 1, MAX_ROWS);
    let rows = queryAudit(this.store.db, { ...f, limit: want }).reverse();
    if (until !== null) rows = rows.filter((r) => r.ts <= until);
    return { rows: rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE), more: rows.length > (page + 1) * PAGE_SIZE };
  }

  /** Every row of the filter (up to MAX_ROWS), oldest first, for export. */
  exportRows(f: AuditFilter, until: number | null): AuditRecord[] {
    const rows = queryAudit(this.store.db, { ...f, limit: MAX_ROWS });
    return until === null ? rows : rows.filter((r) => r.ts <= until);
  }

  /** The last `n` rows, newest first: what the live view starts with. */
  recent(n: number): AuditRecord[] {
    return queryAudit(this.store.db, { limit: n }).reverse();
  }

  /** Calls per minute by outcome over the last hour. */
  chart(now = Date.now()) {
    const from = Math.floor((now - 3_600_000) / 60_000) * 60_000;
    const rows = this.store.db
      .query("SELECT ts / 60000 AS minute, outcome, count(*) AS n FROM calls WHERE ts >= ? GROUP BY minute, outcome")
      .all(from) as { minute: number; outcome: string; n: number }[];
    return { from, minutes: 61, counts: rows.map((r) => ({ minute: Math.floor(r.minute) * 60_000, outcome: r.outcome, n: r.n })), latency: this.latency(from) };
  }

  /** p50 and p95 latency per backend since `from`, over its newest LATENCY_ROWS calls at most. */
  private latency(from: number) {
    const rows = this.store.db
      .query("SELECT backend, latency_us FROM calls WHERE ts >= ? AND backend IS NOT NULL ORDER BY id DESC LIMIT ?")
      .all(from, LATENCY_ROWS) as { backend: string; latency_us: number }[];
    const by = new Map<string, number[]>();
    for (const r of rows) {
      const list = by.get(r.backend) ?? [];
      list.push(r.latency_us);
      by.set(r.backend, list);
    }
    return [...by].map(([backend, l]) => {
      l.sort((a, b) => a - b);
      const at = (q: number) => l[Math.min(l.length - 1, Math.ceil(q * l.length) - 1)]! / 1000;
      return { backend, calls: l.length, p50Ms: at(0.5), p95Ms: at(0.95) };
    });
  }

  /** Rate-limit refusals in the last hour, by identity, most refused first. */
  limited(now = Date.now()) {
    return this.store.db
      .query("SELECT identity, count(*) AS refused, max(ts) AS last FROM calls WHERE decision = 'rate_limited' AND ts >= ? GROUP BY identity ORDER BY refused DESC LIMIT 50")
      .all(now - 3_600_000) as { identity: string; refused: number; last: number }[];
  }

  /** Pins awaiting approval, with both definitions field by field and a line diff; then the switches. */
  pins() {
    const { pins, switches } = this.store;
    pins.refresh();
    const waiting = pins
      .list()
      .filter((p) => p.state !== "approved")
      .map((p) => {
        const d = pins.diff(p.backend, p.tool)!;
        const fields = (d.pending ? d.changed : PINNED_FIELDS.filter((f) => d.approved[f] !== undefined)).map((field) => ({
          field,
          old: d.pending ? text(d.approved[field]) : null,
          new: text((d.pending ?? d.approved)[field]),
          diff: d.pending ? lineDiff(lines(d.approved[field]), lines(d.pending[field])) : null,
        }));
        return { ...p, exposed: this.exposed(p), hash: d.hash, fields };
      });
    switches.refresh();
    return { mode: this.gateway.config.pinning.mode, pins: waiting, switches: switches.list(), limited: this.limited() };
  }

  /** Approves what `hash` (from pins()) names; false when it changed since, or nothing waits. */
  approve(backend: string, tool: string, hash: string, who: Principal): boolean {
    const done = this.store.pins.approve(backend, tool, { hash });
    this.record(who, "admin/approve", `${backend}:${tool}`, { hash }, backend, done ? null : "nothing to approve under that hash");
    return done;
  }

  /** Switches hold exposed names: BACKEND:TOOL is translated, as `sentinel tools disable` does; null: no such backend. */
  switchName(name: string): string | null {
    const colon = name.indexOf(":");
    if (name.startsWith("backend:") || colon < 0) return name;
    const c = this.gateway.config;
    const b = c.backends.find((b) => b.name === name.slice(0, colon));
    return b ? exposedName(b.prefix, name.slice(colon + 1), c.names.maxLength) : null;
  }

  disable(name: string, reason: string | undefined, who: Principal): void {
    this.store.switches.disable(name, reason);
    this.record(who, "admin/disable", name, reason === undefined ? null : { reason }, null);
  }

  enable(name: string, who: Principal): boolean {
    const done = this.store.switches.enable(name);
    this.record(who, "admin/enable", name, null, null, done ? null : "not disabled");
    return done;
  }

  /** Calls waiting for an approver, as `sentinel approvals list` shows them (arguments redacted, as stored). */
  approvals() {
    return { approvals: this.store.pending.list() };
  }

  /** Answers one waiting call, as `sentinel approvals approve|deny` does, as the admin; false when nothing waits under that id. */
  decide(id: string, approve: boolean, who: Principal): boolean {
    const { pending } = this.store;
    const p = pending.list().find((p) => p.id === id);
    const done = pending.decide(id, approve, who.sub);
    const answer = approve ? "approve" : "deny";
    this.record(who, "admin/approval", p?.tool ?? id, { id, answer }, p?.backend ?? null, done ? null : "no call waits for that approval (unknown, answered or expired)");
    return done;
  }

  private exposed(p: { backend: string; tool: string }): string {
    const c = this.gateway.config;
    const b = c.backends.find((b) => b.name === p.backend);
    return b ? exposedName(b.prefix, p.tool, c.names.maxLength) : `${p.backend}:${p.tool}`;
  }

  /** An action, audited under the admin's identity (outcome error: it changed nothing). */
  private record(who: Principal, method: string, target: string, args: Record<string, unknown> | null, backend: string | null, error: string | null = null): void {
    this.gateway.live?.audit?.record({
      ts: Date.now(),
      session: null,
      front: "admin",
      identity: who.sub,
      roles: who.roles,
      decision: null,
      rule: null,
      method,
      backend,
      target,
      args: args && JSON.stringify(args),
      outcome: error ? "error" : "ok",
      errorCode: null,
      error,
      latencyUs: 0,
    });
  }
}

function text(value: unknown): string {
  if (value === undefined) return "(absent)";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function lines(value: unknown): string[] {
  return text(value).split("\n");
}

const CSV_COLUMNS = ["id", "ts", "session", "front", "identity", "method", "backend", "target", "args", "outcome", "error_code", "error", "latency_us", "roles", "decision", "rule", "request_id", "retries"] as const;

/** RFC 4180, with cells a spreadsheet would run as a formula quoted as text. */
export function toCsv(rows: AuditRecord[]): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [CSV_COLUMNS.join(","), ...rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(","))].join("\r\n") + "\r\n";
}
