// The steps a routed call passes before it is forwarded, in this order. Each
// either lets the call go on, saying what it decided (the audit row's decision
// and rule), or refuses it with a typed error and its verdict. Adding a step
// (approvals, guardrails) is adding an entry to STEPS.

import type { Decision } from "../audit/row.ts";
import type { Backend } from "../backends/backend.ts";
import type { Route } from "../dispatch/router.ts";
import { BackendBusy, BackendUnavailable, CircuitOpen, Disabled, RateLimited, UnknownTarget, Withheld, type SentinelError } from "../errors.ts";
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
