// One audit row: a client request, whatever its outcome, as the store writes it
// and the journal keeps it until then.

export type Outcome = "ok" | "error" | "denied";
/** approved: a person approved it (approvals); declined: approval was refused or not given. */
export type Decision = "allowed" | "approved" | "denied" | "rate_limited" | "disabled" | "unpinned" | "declined";

export type AuditRow = {
  ts: number;
  session: string | null;
  front: string;
  identity: string;
  method: string;
  backend: string | null;
  target: string | null;
  args: string | null;
  outcome: Outcome;
  errorCode: number | null;
  error: string | null;
  latencyUs: number;
  roles: string[] | null;
  decision: Decision | null;
  rule: string | null;
  /** The request's id in Sentinel's log lines; null for what no request carried. */
  requestId?: string | null;
  /** Times an idempotent read was retried; absent or 0: none. */
  retries?: number;
  /** The view (virtual server) the request came in through; absent or null: the full view. */
  view?: string | null;
};
