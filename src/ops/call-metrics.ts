// Counting calls: a call observer (pipeline/observe.ts) that bumps the series
// of each ended call. Off the hot path in cost: start() is one Map get and
// allocates nothing (the observation is the method's own, shared by its
// calls), and ended() is two Map gets of strings the call already holds, an
// array index and a few additions (scripts/bench-metrics.ts measures it).
//
// Labels never take raw client input: a method not in MCP's list reads as
// "other", a tool or prompt name only if a backend offered it (the catalog
// knows it; else "(other)"), and URIs and task ids are not labels at all.

import type { Decision } from "../audit/row.ts";
import type { Route } from "../dispatch/router.ts";
import type { Call } from "../pipeline/call.ts";
import type { CallObserver, Ended, Observation } from "../pipeline/observe.ts";
import type { Counter, Histogram, HistogramSample, Registry, Sample } from "./metrics.ts";

/**
 * What the target label is checked against (dispatch/catalog.ts): a name some
 * backend has offered (still, or before it went down), or a tool pinning withholds.
 */
export type Names = { formerOwner(kind: "tool" | "prompt", name: string): unknown; readonly withheld: ReadonlyMap<string, unknown> };

const METHODS = [
  "initialize", "ping", "server/discover",
  "tools/list", "tools/call", "prompts/list", "prompts/get",
  "resources/list", "resources/templates/list", "resources/read", "resources/subscribe", "resources/unsubscribe",
  "completion/complete", "logging/setLevel", "subscriptions/listen",
  "tasks/get", "tasks/result", "tasks/cancel", "tasks/list",
];
export const OTHER_METHOD = "other";
export const OTHER_TARGET = "(other)";

export const OUTCOMES = ["ok", "error", "denied", "cancelled"] as const;
/** "none": no policy step judged the call (Sentinel's own methods, an unknown method). */
export const DECISIONS = ["none", "allowed", "approved", "denied", "rate_limited", "disabled", "unpinned", "declined"] as const satisfies readonly ("none" | Decision)[];
// Fails to compile when a decision is added to the audit row's but not here.
const everyDecision: [Exclude<Decision, (typeof DECISIONS)[number]>] extends [never] ? true : never = true;
void everyDecision;
const DECISION_INDEX: Record<string, number> = Object.fromEntries(DECISIONS.map((d, i) => [d, i]));
const DENIED = 3; // decisions from here on refuse the call
const N = OUTCOMES.length * DECISIONS.length;

/** Refusals by the error that refused (errors.ts codes), and RBAC by its decision. */
const REFUSALS: Record<string, string> = {
  rate_limited: "rate_limit",
  backend_busy: "concurrency",
  unpinned: "pinning",
  disabled: "kill_switch",
  backend_unavailable: "unavailable",
  circuit_open: "circuit_open",
  approval_declined: "approval",
  approval_required: "approval",
};
const DECLINED = DECISION_INDEX.declined!;

// Seconds. Overhead is tens to hundreds of µs; a backend takes ms to minutes.
const OVERHEAD_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const BACKEND_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

type Families = { requests: Counter; refusals: Counter; overhead: Histogram; backendTime: Histogram };

/** The request counts of one (method, backend, target): one cell per outcome and decision, made on first use. */
class RouteSeries {
  private readonly cells: (Sample | undefined)[] = new Array(N);

  constructor(
    private readonly f: Families,
    private readonly labels: [method: string, backend: string, target: string],
    /** Where its backend time goes; null without a backend. */
    readonly backendTime: HistogramSample | null,
  ) {}

  count(outcome: number, decision: number): void {
    const i = outcome * DECISIONS.length + decision;
    (this.cells[i] ??= this.f.requests.child(...this.labels, OUTCOMES[outcome]!, DECISIONS[decision]!)).value++;
  }
}

/** The observation every call of one method shares: ended() has all it needs in `how`. */
class MethodSeries implements Observation {
  /** backend -> target -> series. */
  private readonly routes = new Map<string, Map<string, RouteSeries>>();
  private readonly unrouted: RouteSeries;
  /** Made on the first call, as each route's are: a method never called shows no series. */
  private overhead: HistogramSample | null = null;

  constructor(
    private readonly f: Families,
    private readonly names: Names,
    private readonly method: string,
  ) {
    this.unrouted = new RouteSeries(f, [method, "", ""], null);
  }

  ended(how: Ended): void {
    const route = how.route;
    const series = route ? (this.routes.get(route.backend?.name ?? "")?.get(targetKey(route)) ?? this.admit(route)) : this.unrouted;
    const d = how.verdict.decision;
    const decision = d === null ? 0 : (DECISION_INDEX[d] ?? 0);
    const error = how.error;
    series.count(how.cancelled ? 3 : error ? (decision >= DENIED ? 2 : 1) : how.toolError ? 1 : 0, decision);
    (this.overhead ??= this.f.overhead.child(this.method)).observe((how.totalUs - how.backendUs) / 1e6);
    if (how.backendUs > 0 && series.backendTime) series.backendTime.observe(how.backendUs / 1e6);
    // A refusal is made before the backend; a forwarded call that failed (its backend went away) is an error, not one.
    if (error && how.backendUs === 0) {
      const reason = REFUSALS[error.code] ?? (decision === DENIED ? "rbac" : decision === DECLINED ? "approval" : null);
      if (reason) this.f.refusals.child(route?.backend?.name ?? "", reason).value++;
    }
  }

  /** A route not counted before: kept under its target only if that is a name the catalog has. */
  private admit(route: Route): RouteSeries {
    const backend = route.backend?.name ?? "";
    let targets = this.routes.get(backend);
    if (!targets) this.routes.set(backend, (targets = new Map()));
    const kind = route.kind === "tool" ? "tool" : "prompt";
    const known = this.names.formerOwner(kind, route.target) !== undefined || (kind === "tool" && this.names.withheld.has(route.target));
    // Not cached under a name from the client: that would grow with whatever clients send.
    const key = targetKey(route) && (known ? route.target : OTHER_TARGET);
    let series = targets.get(key);
    if (!series) {
      series = new RouteSeries(this.f, [this.method, backend, key], backend ? this.f.backendTime.child(backend) : null);
      targets.set(key, series);
    }
    return series;
  }
}

/** The target label a route is kept under before the catalog check: its name for a tool or prompt, else none. */
function targetKey(route: Route): string {
  return route.kind === "tool" || route.kind === "prompt" ? route.target : "";
}

export class CallMetrics implements CallObserver {
  private readonly methods = new Map<string, MethodSeries>();
  private readonly other: MethodSeries;

  constructor(registry: Registry, names: Names) {
    const f: Families = {
      requests: registry.counter("sentinel_requests_total", "Client requests handled, by method, backend, target (tool or prompt), outcome and policy decision.", [
        "method", "backend", "target", "outcome", "decision",
      ]),
      refusals: registry.counter(
        "sentinel_refusals_total",
        "Calls refused before their backend: rbac, kill_switch, pinning, rate_limit, concurrency (maxConcurrent), unavailable, circuit_open or approval.",
        ["backend", "reason"],
      ),
      overhead: registry.histogram("sentinel_gateway_overhead_seconds", "Time a request spent in Sentinel itself (total minus backend time).", ["method"], OVERHEAD_BUCKETS),
      backendTime: registry.histogram("sentinel_backend_request_duration_seconds", "Time a forwarded request waited for its backend.", ["backend"], BACKEND_BUCKETS),
    };
    for (const m of METHODS) this.methods.set(m, new MethodSeries(f, names, m));
    this.other = new MethodSeries(f, names, OTHER_METHOD);
  }

  start(call: Call): Observation {
    return this.methods.get(call.request.method) ?? this.other;
  }
}
