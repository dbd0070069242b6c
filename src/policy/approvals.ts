// Which calls need a person's approval before they reach their backend
// (config `approvals`), compiled once at load. A rule names tools by glob over
// exposed names and may narrow itself by arguments (as RBAC's `args`), roles
// and identities; the first rule that matches a call holds it.

import type { Database, Statement } from "bun:sqlite";
import type { Config, Identity } from "../config/load.ts";
import { auditJson } from "../audit/redact.ts";
import { compileGlobs } from "./glob.ts";
import { compileArgs, type ArgsCheck } from "./rbac-args.ts";

/** The rule that holds a call: `approvals[i]`, how long to wait, and whose approval it needs (null: the caller's). */
export type ApprovalRule = { readonly name: string; readonly timeoutMs: number; readonly approver: string | null };

type Compiled = ApprovalRule & {
  readonly tools: (name: string) => boolean;
  readonly args: ArgsCheck | null;
  readonly roles: ReadonlySet<string> | null;
  readonly identities: ReadonlySet<string> | null;
};

/** Where approval events go (GovernanceStore.event). */
export type EventSink = (kind: string, detail: string) => void;

const NO_ARGS: Readonly<Record<string, unknown>> = Object.freeze({});

export class Approvals {
  private constructor(
    private readonly rules: readonly Compiled[],
    private readonly sink: EventSink,
    private readonly maxArgumentBytes: number,
    /** Where calls wait for an approver; null when no rule names one (or no database). */
    readonly pending: PendingApprovals | null,
  ) {}

  /** null with no rules: the approval step then costs nothing. Throws on an invalid args pattern. */
  static compile(config: Config["approvals"], sink: EventSink, maxArgumentBytes: number, db: Database | null = null): Approvals | null {
    if (config.length === 0) return null;
    const pending = db && config.some((r) => r.approver !== undefined) ? new PendingApprovals(db) : null;
    return new Approvals(config.map(compileRule), sink, maxArgumentBytes, pending);
  }

  /** The arguments as the audit row keeps them (redacted, bounded). */
  redacted(args: unknown): string | null {
    return auditJson(args ?? {}, this.maxArgumentBytes);
  }

  /** The first rule that holds this call of `tool`, or null. */
  match(identity: Identity, tool: string, args: unknown): ApprovalRule | null {
    const a = isRecord(args) ? args : NO_ARGS;
    for (const r of this.rules) {
      if (!r.tools(tool)) continue;
      if (r.identities !== null && !r.identities.has(identity.sub)) continue;
      if (r.roles !== null && !identity.roles.some((role) => r.roles!.has(role))) continue;
      if (r.args !== null && !r.args(a)) continue;
      return r;
    }
    return null;
  }

  /** An audit event; the arguments redacted and bounded as the audit row's are. */
  event(kind: string, detail: Record<string, unknown>, args: unknown): void {
    const json = this.redacted(args);
    this.sink(kind, JSON.stringify({ ...detail, arguments: json === null ? null : JSON.parse(json) }));
  }
}

function compileRule(rule: Config["approvals"][number], i: number): Compiled {
  return {
    name: `approvals[${i}]`,
    timeoutMs: rule.timeoutMs,
    approver: rule.approver ?? null,
    tools: compileGlobs(rule.tools),
    // As a deny rule judges them: a pattern also looks inside structured values, so that doubt asks.
    args: rule.args ? compileArgs(rule.args, "deny") : null,
    roles: rule.roles ? new Set(rule.roles) : null,
    identities: rule.identities ? new Set(rule.identities) : null,
  };
}

function isRecord(x: unknown): x is Readonly<Record<string, unknown>> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** One call waiting for an approver, as `sentinel approvals list` shows it. */
export type Pending = {
  id: string;
  ts: number;
  expires: number;
  rule: string;
  tool: string;
  backend: string;
  identity: string;
  approver: string;
  /** Redacted and bounded, as in the audit row. */
  args: string | null;
};

export type PendingState = { state: "pending" | "approved" | "denied" | "expired" | "cancelled"; decidedBy: string | null };

// Created where it is used, not by a migration: the schema tests pin the migrated
// tables, and a gateway without approver rules never needs it.


/**
 * Calls that wait for an approver's answer, in the database every gateway and
 * `sentinel approvals` share: the waiting gateway writes the row and polls it,
 * the CLI answers it. Each row is one call: an approval is never reused.
 */
export class PendingApprovals {
  private readonly insert: Statement<unknown, [string, number, number, string, string, string, string, string, string | null]>;
  private readonly select: Statement<{ state: PendingState["state"]; decided_by: string | null }, [string]>;
  private readonly settle: Statement<unknown, [string, string | null, number, string]>;

  /** On a database openDatabase() opened: its schema (step 7) has the table. */
  constructor(private readonly db: Database) {
    this.insert = db.prepare("INSERT INTO approvals (id, ts, expires, rule, tool, backend, identity, approver, args) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    this.select = db.prepare("SELECT state, decided_by FROM approvals WHERE id = ?");
    this.settle = db.prepare("UPDATE approvals SET state = ?, decided_by = ?, decided_at = ? WHERE id = ? AND state = 'pending'");
  }

  open(p: Pending): void {
    this.insert.run(p.id, p.ts, p.expires, p.rule, p.tool, p.backend, p.identity, p.approver, p.args);
  }

  state(id: string): PendingState | null {
    const row = this.select.get(id);
    return row ? { state: row.state, decidedBy: row.decided_by } : null;
  }

  /** An answer, if the call still waits: false when it is unknown, answered, expired or gone. */
  decide(id: string, approve: boolean, by: string, now = Date.now()): boolean {
    const row = this.db.query("SELECT expires FROM approvals WHERE id = ? AND state = 'pending'").get(id) as { expires: number } | null;
    if (!row || row.expires < now) return false;
    return this.settle.run(approve ? "approved" : "denied", by, now, id).changes === 1;
  }

  /** The waiting call gave up (timeout, cancelled): a later answer finds nothing to approve. */
  /** False when an answer came first. */
  end(id: string, state: "expired" | "cancelled", now = Date.now()): boolean {
    return this.settle.run(state, null, now, id).changes === 1;
  }

  list(now = Date.now()): Pending[] {
    return this.db
      .query("SELECT id, ts, expires, rule, tool, backend, identity, approver, args FROM approvals WHERE state = 'pending' AND expires >= ? ORDER BY ts")
      .all(now) as Pending[];
  }
}
