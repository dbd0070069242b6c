// The steps a routed call passes before it is forwarded, in this order. Each
// either lets the call go on, saying what it decided (the audit row's decision
// and rule), or refuses it with a typed error and its verdict. Adding a step
// (approvals, guardrails) is adding an entry to STEPS.

import type { Decision } from "../audit/row.ts";
import type { Backend } from "../backends/backend.ts";
import { CancelSignal, type Result } from "../backends/request.ts";
import type { Route } from "../dispatch/router.ts";
import {
  ApprovalDeclined,
  ApprovalRequired,
  BackendBusy,
  BackendTimeout,
  BackendUnavailable,
  CircuitOpen,
  Disabled,
  MethodNotFound,
  RateLimited,
  UnknownTarget,
  Withheld,
  type SentinelError,
} from "../errors.ts";
import type { ApprovalRule, Approvals } from "../policy/approvals.ts";
import type { SessionConnections } from "../session/connections.ts";
import type { Call } from "./call.ts";
import type { Policy } from "./policy.ts";

/** What governance decided about a call, for its audit row. */
export type Verdict = { decision: Decision | null; rule: string | null };

export const NO_VERDICT: Verdict = { decision: null, rule: null };

/** A step's refusal: the error the client gets, and the verdict the audit row records. */
export class Refused extends Error {
  constructor(
    readonly error: SentinelError,
    readonly verdict: Verdict,
  ) {
    super(error.message);
  }
}

/** A route whose backend is known (the pipeline has refused the others as unknown). */
export type RouteTo = Route & { backend: Backend };

export type StepContext = {
  call: Call;
  route: RouteTo;
  policy: Policy;
  connections: SessionConnections;
  /** The approvals rules in force; null: none. */
  approvals: Approvals | null;
};

/** Returns the verdict so far, changed or not; throws Refused to stop the call. */
export type Step = (ctx: StepContext, verdict: Verdict) => Verdict | Promise<Verdict>;

/** The view, then RBAC. A target outside either reads as unknown, so that its existence is not revealed. */
const authorize: Step = ({ call, route, policy }) => {
  if (route.kind === "task") return NO_VERDICT;
  // Outside the session's view reads as unknown, as an RBAC denial does: a view is a filter, never a grant.
  if (!policy.inView(call.session.view, route.kind, route.target, route.backend.name)) {
    throw new Refused(new UnknownTarget(route.kind, route.target), { decision: "denied", rule: `view ${call.session.view}` });
  }
  const d = policy.decide(call.identity, route.kind, route.target, route.backend.name, route.args);
  if (!d.allowed) throw new Refused(new UnknownTarget(route.kind, route.target), { decision: "denied", rule: d.rule });
  return { decision: "allowed", rule: d.rule };
};

const killSwitch: Step = ({ route, policy }, verdict) => {
  if (route.kind === "tool" && policy.isDisabled(route.target, route.backend.name)) {
    throw new Refused(new Disabled("tool", route.target), { ...verdict, decision: "disabled" });
  }
  return verdict;
};

/** A tool whose definition changed (or looks like an injection) waits for an administrator. */
const pinning: Step = ({ route }, verdict) => {
  if (route.withheld) throw new Refused(new Withheld(route.target, route.withheld), { ...verdict, decision: "unpinned" });
  return verdict;
};

const rateLimit: Step = ({ call, route, policy }, verdict) => {
  if (route.kind === "task") return verdict;
  const limited = policy.spend(call.identity, route.backend.name, route.kind === "tool" ? route.target : null);
  if (limited) throw new Refused(new RateLimited(limited.limit, limited.retryAfterMs), { decision: "rate_limited", rule: limited.limit });
  return verdict;
};

/**
 * A call an approvals rule holds waits for a person's approval, asked of the
 * caller: an elicitation (form mode) to a 2025 client, input_required to a
 * 2026-07-28 one (ModernCall parks it). After the rate limit, so that no one
 * is asked about a call that would be refused anyway and asking is bounded by
 * the budget; before availability and the breaker, so that those judge the
 * backend as it is when the call goes, not before a wait of minutes.
 */
const approval: Step = ({ call, route, approvals }, verdict) => {
  // A backend that is down refuses next: no one is asked about a call that cannot run.
  if (approvals === null || route.kind !== "tool" || route.unavailable) return verdict;
  const args = route.params.arguments;
  const rule = approvals.match(call.identity, route.target, route.args);
  return rule === null ? verdict : askApproval(call, route, approvals, rule, args);
};

// What the approval message shows of the arguments; the rest is cut, saying so.
const MAX_SHOWN = 2000;

/** The client could not be asked, or answered with an error (kept apart from any answer a client could send). */
class Failed {
  constructor(readonly error: unknown) {}
}

const inSeconds = (ms: number): string => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

async function askApproval(call: Call, route: RouteTo, approvals: Approvals, rule: ApprovalRule, args: unknown): Promise<Verdict> {
  const tool = route.target;
  const via = "takesInputRequired" in call ? "input_required" : "elicitation";
  const about = { rule: rule.name, tool, backend: route.backend.name, identity: call.identity.sub, requestId: call.id };
  const refused = (error: SentinelError, answer: string): never => {
    approvals.event("approval_declined", { ...about, by: answer === "timeout" || answer === "unsupported" ? null : call.identity.sub, via, answer }, args);
    throw new Refused(error, { decision: "declined", rule: rule.name });
  };
  if (rule.approver !== null) return awaitApprover(call, route, approvals, rule, args, about);
  approvals.event("approval_requested", { ...about, via, timeoutMs: rule.timeoutMs }, args);
  const asking = new CancelSignal();
  // The caller withdrew its call (or its session closed): the question goes too.
  call.cancel.onCancel((reason) => asking.cancel(reason));
  let timer: ReturnType<typeof setTimeout> | undefined;
  let answer: Result | "timeout" | Failed;
  try {
    answer = await Promise.race([
      call.onRequest({ jsonrpc: "2.0", id: `approval-${call.id}`, method: "elicitation/create", params: approvalRequest(tool, rule, args) }, asking).then(
        (r) => r,
        (err: unknown) => new Failed(err),
      ),
      new Promise<"timeout">((resolve) => (timer = setTimeout(resolve, rule.timeoutMs, "timeout"))),
    ]);
  } finally {
    clearTimeout(timer);
    call.cancel.onCancel(null);
  }
  // Withdrawn, or its park expired (which also cancels what it asked): whatever came back, it is not an approval.
  if (call.cancel.cancelled) return refused(new ApprovalRequired(rule.name, tool, "the call was cancelled"), "cancelled");
  // The session's own bound on a client's answer (10 min) is a timeout too.
  if (answer === "timeout" || (answer instanceof Failed && answer.error instanceof BackendTimeout)) {
    asking.cancel("the approval timed out");
    return refused(new ApprovalRequired(rule.name, tool, `no answer came within ${inSeconds(rule.timeoutMs)}`), "timeout");
  }
  if (answer instanceof Failed) {
    if (answer.error instanceof MethodNotFound) {
      return refused(new ApprovalRequired(rule.name, tool, "the client cannot be asked (it did not declare elicitation)"), "unsupported");
    }
    return refused(new ApprovalRequired(rule.name, tool, "the client answered the question with an error"), "error");
  }
  const action = answer.action;
  const content = answer.content as Record<string, unknown> | undefined;
  if (action === "accept" && content?.approve === true) {
    approvals.event("approval_granted", { ...about, by: call.identity.sub, via, answer: "accept" }, args);
    return { decision: "approved", rule: rule.name };
  }
  const how = action === "accept" ? "approve was not true" : action === "decline" ? "declined" : action === "cancel" ? "cancelled" : "no valid answer";
  return refused(new ApprovalDeclined(rule.name, tool, `${how} by the user`), action === "accept" ? "accept, approve false" : String(action ?? "invalid"));
}

// How often a waiting call looks for its approver's answer, and tells a caller that asked for progress it still waits.
const APPROVER_POLL_MS = 250;
const PROGRESS_EVERY = 4;

/**
 * A rule that names an approver: the call waits, bounded by the rule's
 * timeout, for `sentinel approvals approve|deny ID` (any process on the same
 * database), with progress to a caller that asked for it.
 */
async function awaitApprover(call: Call, route: RouteTo, approvals: Approvals, rule: ApprovalRule, args: unknown, about: Record<string, unknown>): Promise<Verdict> {
  const tool = route.target;
  const pending = approvals.pending;
  const answer = (kind: string, error: SentinelError | null, detail: Record<string, unknown>): Verdict => {
    approvals.event(kind, { ...about, via: "approver", approver: rule.approver, ...detail }, args);
    if (error) throw new Refused(error, { decision: "declined", rule: rule.name });
    return { decision: "approved", rule: rule.name };
  };
  if (pending === null) {
    return answer("approval_declined", new ApprovalRequired(rule.name, tool, "approvers answer from the database, and this gateway has none"), { by: null, answer: "unsupported" });
  }
  const id = crypto.randomUUID().slice(0, 8);
  const now = Date.now();
  pending.open({ id, ts: now, expires: now + rule.timeoutMs, rule: rule.name, tool, backend: route.backend.name, identity: call.identity.sub, approver: rule.approver!, args: approvals.redacted(args) });
  approvals.event("approval_requested", { ...about, via: "approver", approver: rule.approver, id, timeoutMs: rule.timeoutMs }, args);
  const deadline = now + rule.timeoutMs;
  const message = `waiting for approval ${id} by ${rule.approver}: sentinel approvals approve ${id}`;
  for (let polls = 0; ; polls++) {
    if (call.progressToken !== undefined && polls % PROGRESS_EVERY === 0) {
      call.onProgress({ progressToken: call.progressToken, progress: polls / PROGRESS_EVERY, message });
    }
    await waitOrCancel(call, Math.min(APPROVER_POLL_MS, Math.max(0, deadline - Date.now())));
    if (call.cancel.cancelled) {
      pending.end(id, "cancelled");
      return answer("approval_declined", new ApprovalRequired(rule.name, tool, "the call was cancelled"), { id, by: null, answer: "cancelled" });
    }
    const state = pending.state(id);
    if (state?.state === "approved") return answer("approval_granted", null, { id, by: state.decidedBy, answer: "approve" });
    if (state?.state === "denied") {
      return answer("approval_declined", new ApprovalDeclined(rule.name, tool, `denied by the approver ${state.decidedBy}`), { id, by: state.decidedBy, answer: "deny" });
    }
    if (state?.state !== "pending" || Date.now() >= deadline) {
      // An answer written between the read and now wins: the approver was told it was taken.
      if (state?.state === "pending" && !pending.end(id, "expired")) continue;
      return answer("approval_declined", new ApprovalRequired(rule.name, tool, `no approver answered within ${inSeconds(rule.timeoutMs)}`), { id, by: null, answer: "timeout" });
    }
  }
}

/** Resolves after `ms`, or at once when the call is withdrawn. */
function waitOrCancel(call: Call, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    call.cancel.onCancel(done);
    function done() {
      clearTimeout(timer);
      call.cancel.onCancel(null);
      resolve();
    }
  });
}

/** The form the caller answers: the tool, the arguments as its backend will see them, one yes/no. */
function approvalRequest(tool: string, rule: ApprovalRule, args: unknown): Record<string, unknown> {
  let shown = JSON.stringify(args ?? {}) ?? "{}";
  if (shown.length > MAX_SHOWN) shown = `${shown.slice(0, MAX_SHOWN)}… (${shown.length} characters in all)`;
  return {
    mode: "form",
    message: `Sentinel holds this call for your approval (${rule.name}).\nTool: ${tool}\nArguments: ${shown}`,
    requestedSchema: {
      type: "object",
      properties: { approve: { type: "boolean", title: `Run ${tool} with these arguments?` } },
      required: ["approve"],
    },
  };
}

/** The backend that offers it is down: a clear error, naming it, rather than "unknown". */
const availability: Step = ({ route }, verdict) => {
  if (route.unavailable) throw new Refused(new BackendUnavailable(route.unavailable), verdict);
  return verdict;
};

/** Its breaker is open (backends/breaker.ts): failed fast, saying when to retry; half-open lets one probe through. */
const circuit: Step = ({ route }, verdict) => {
  const wait = route.backend.breaker.admit();
  if (wait > 0) throw new Refused(new CircuitOpen(route.backend.name, wait), verdict);
  return verdict;
};

export const STEPS: readonly [name: string, step: Step][] = [
  ["authorize", authorize],
  ["kill switch", killSwitch],
  ["pinning", pinning],
  ["rate limit", rateLimit],
  ["approval", approval],
  ["availability", availability],
  ["circuit breaker", circuit],
];

/**
 * The last step before forwarding: the connection that serves this session,
 * and its in-flight bound. Full means refused now, with a clear error: an
 * unbounded queue would only hide overload.
 */
export function connect(ctx: StepContext, verdict: Verdict): Backend | Promise<Backend> {
  const conn = ctx.connections.get(ctx.call.session, ctx.route.backend);
  // A shared connection is there already: no promise, so no turn of the event loop.
  return conn instanceof Promise ? conn.then((c) => bounded(c, verdict)) : bounded(conn, verdict);
}

function bounded(conn: Backend, verdict: Verdict): Backend {
  const max = conn.config.maxConcurrent;
  if (max !== null && conn.inFlight >= max) throw new Refused(new BackendBusy(conn.name, max), verdict);
  return conn;
}
