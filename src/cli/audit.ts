// `sentinel audit`: who called what, when, with what outcome and latency.

import { existsSync } from "node:fs";
import { openReadOnly, queryAudit, queryEvents, type AuditFilter, type AuditRecord } from "../audit/query.ts";
import { AuditStore } from "../audit/store.ts";
import { parseDuration } from "../config/duration.ts";
import { parseFlags, UsageError } from "./args.ts";
import { loadOrExit } from "./load.ts";
import { defaultAuditPath } from "../config/paths.ts";

export const auditHelp = `Usage: sentinel audit [--config FILE] [filters] [--json] [--limit N] [--follow]

Prints the audit trail of the database that FILE configures (default: ${defaultAuditPath({ HOME: "~" })}).

Filters:
  --since DURATION     only rows newer than this (e.g. 15m, 1h, 7d)
  --tool GLOB          tool, prompt or resource name (glob, e.g. "n8n__*")
  --backend NAME       backend name
  --outcome O          ok | error | denied
  --identity SUB       caller identity
  --method M           JSON-RPC method (e.g. tools/call)
  --decision D         allowed | denied | rate_limited | disabled | unpinned
  --events             show security events instead (tool changes, approvals, kill switches)
Output:
  --json               one JSON object per line
  --limit N            at most N rows (default 50)
  --follow             keep printing new rows as they are written`;

const FOLLOW_POLL_MS = 500;

export async function audit(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    config: { type: "string", short: "c" },
    db: { type: "string" },
    since: { type: "string" },
    tool: { type: "string" },
    backend: { type: "string" },
    outcome: { type: "string" },
    identity: { type: "string" },
    method: { type: "string" },
    decision: { type: "string" },
    events: { type: "boolean" },
    json: { type: "boolean" },
    limit: { type: "string" },
    follow: { type: "boolean", short: "f" },
  });
  const path = values.db ?? (values.config ? (await loadOrExit(values.config)).audit.path : defaultAuditPath(process.env));
  if (!existsSync(path)) {
    process.stderr.write(`sentinel audit: no audit database at ${path} yet\n`);
    process.exit(1);
  }
  const limit = values.limit === undefined ? 50 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError("--limit: expected a positive whole number");
  let sinceMs: number | undefined;
  if (values.since !== undefined) {
    const ms = parseDuration(values.since);
    if (ms === null) throw new UsageError("--since: expected a duration such as 15m, 1h or 7d");
    sinceMs = Date.now() - ms;
  }
  if (values.outcome && !["ok", "error", "denied"].includes(values.outcome)) throw new UsageError("--outcome: expected ok, error or denied");
  const decisions = ["allowed", "denied", "rate_limited", "disabled", "unpinned"];
  if (values.decision && !decisions.includes(values.decision)) throw new UsageError(`--decision: expected one of ${decisions.join(", ")}`);

  const filter: AuditFilter = {
    limit,
    ...(sinceMs !== undefined && { sinceMs }),
    ...(values.tool && { target: values.tool }),
    ...(values.backend && { backend: values.backend }),
    ...(values.outcome && { outcome: values.outcome }),
    ...(values.identity && { identity: values.identity }),
    ...(values.method && { method: values.method }),
    ...(values.decision && { decision: values.decision }),
  };
  // A gateway killed moments ago left its last rows in its journal: fold them first (needs write access).
  if (existsSync(`${path}.journal`)) {
    try {
      AuditStore.recover(path);
    } catch (err) {
      process.stderr.write(`sentinel audit: cannot fold the journals of stopped gateways (${(err as Error).message}); their last rows appear once a gateway starts\n`);
    }
  }
  const db = openReadOnly(path);
  // Rows a running gateway has answered but not yet batched into the database: waited for, briefly.
  if (existsSync(`${path}.journal`)) await AuditStore.caughtUp(db, path).catch(() => false);
  if (values.events) {
    for (const e of queryEvents(db, sinceMs, limit)) {
      if (values.json) process.stdout.write(JSON.stringify(e) + "\n");
      else process.stdout.write(`${new Date(e.ts).toISOString()}  ${e.kind.padEnd(16)} ${e.backend ?? "-"}  ${e.target ?? "-"}  ${e.detail ?? ""}\n`);
    }
    return;
  }
  const print = (rows: AuditRecord[], header: boolean) => {
    if (values.json) for (const r of rows) process.stdout.write(JSON.stringify(r) + "\n");
    else process.stdout.write(table(rows, header));
  };
  let rows = queryAudit(db, filter);
  print(rows, true);
  if (!values.follow) return;
  let last = rows.at(-1)?.id ?? (db.query("SELECT max(id) AS id FROM calls").get() as { id: number | null }).id ?? 0;
  for (;;) {
    await Bun.sleep(FOLLOW_POLL_MS);
    rows = queryAudit(db, { ...filter, afterId: last, limit: 10_000 });
    if (rows.length === 0) continue;
    last = rows.at(-1)!.id;
    print(rows, false);
  }
}

const COLUMNS: [string, (r: AuditRecord) => string][] = [
  ["TIME", (r) => new Date(r.ts).toISOString().replace("T", " ").slice(0, 23)],
  ["FRONT", (r) => r.front],
  ["IDENTITY", (r) => r.identity],
  ["METHOD", (r) => r.method],
  ["BACKEND", (r) => r.backend ?? "-"],
  ["TARGET", (r) => r.target ?? "-"],
  ["OUTCOME", (r) => (r.error_code === null ? r.outcome : `${r.outcome} ${r.error_code}`)],
  ["DECISION", (r) => (r.decision ? `${r.decision}${r.rule ? ` (${r.rule})` : ""}` : "-")],
  ["LATENCY", (r) => formatLatency(r.latency_us)],
];

function table(rows: AuditRecord[], header: boolean): string {
  const cells = rows.map((r) => COLUMNS.map(([, f]) => f(r)));
  if (header) cells.unshift(COLUMNS.map(([h]) => h));
  const widths = COLUMNS.map((_, i) => Math.min(40, Math.max(...cells.map((c) => c[i]!.length))));
  return cells.map((c) => c.map((v, i) => v.slice(0, 40).padEnd(widths[i]!)).join("  ").trimEnd() + "\n").join("");
}

function formatLatency(us: number): string {
  return us < 1000 ? `${us}µs` : us < 1_000_000 ? `${(us / 1000).toFixed(1)}ms` : `${(us / 1e6).toFixed(2)}s`;
}
