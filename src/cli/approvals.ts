// `sentinel approvals list|approve|deny`: answers calls that an approvals rule
// with an approver holds. The waiting gateway polls the database FILE
// configures, so the caller's request goes on (or is refused) within a poll.

import { existsSync } from "node:fs";
import { PendingApprovals } from "../policy/approvals.ts";
import { openDatabase } from "../store/database.ts";
import { parseFlags, UsageError } from "./args.ts";
import { loadOrExit } from "./load.ts";

export const approvalsHelp = `Usage:
  sentinel approvals list --config FILE [--json]    calls waiting for an approver
  sentinel approvals approve ID --config FILE [--as NAME]
                                                    let that one call through
  sentinel approvals deny ID --config FILE [--as NAME]
                                                    refuse it (-32033)

Each approval is for one call, with the arguments shown; NAME (default: the
local user) is recorded as who answered. Whoever can write the database is
trusted to answer, as with "sentinel tools approve".`;

export async function approvals(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, { config: { type: "string", short: "c" }, json: { type: "boolean" }, as: { type: "string" } });
  const [sub, id, ...extra] = positionals;
  if (sub !== "list" && sub !== "approve" && sub !== "deny") throw new UsageError(`approvals: expected list, approve or deny${sub ? `, not "${sub}"` : ""}`);
  if (sub === "list" ? id !== undefined : id === undefined || extra.length > 0) throw new UsageError(`approvals ${sub}: ${sub === "list" ? "takes no ID" : "expected one ID"}`);
  if (values.as !== undefined && sub === "list") throw new UsageError("--as: only for approve and deny");
  const config = await loadOrExit(values.config);
  const path = config.audit.path;
  if (!existsSync(path)) {
    if (sub === "list") return;
    fail(`no database at ${path}: no call waits for approval`);
  }
  const db = openDatabase(path);
  try {
    const pending = new PendingApprovals(db);
    if (sub === "list") {
      for (const p of pending.list()) {
        if (values.json) process.stdout.write(JSON.stringify(p) + "\n");
        else process.stdout.write(`${p.id}  ${p.tool}  by ${p.identity}  for ${p.approver}  (${p.rule}, ${Math.max(0, Math.round((p.expires - Date.now()) / 1000))} s left)  ${p.args ?? ""}\n`);
      }
      return;
    }
    const by = values.as ?? process.env.USER ?? process.env.LOGNAME ?? "cli";
    if (!pending.decide(id!, sub === "approve", by)) fail(`no call waits for approval ${id} (unknown, answered or expired)`);
    process.stdout.write(`${sub === "approve" ? "approved" : "denied"} ${id} as ${by}\n`);
  } finally {
    db.close();
  }
}

function fail(message: string): never {
  process.stderr.write(`sentinel approvals: ${message}\n`);
  process.exit(1);
}
