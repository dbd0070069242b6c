// The one path of every client request, whichever front it came in on:
// credential expiry, then Sentinel's own answer or a route (dispatch), the
// policy steps in their order (steps.ts), the connection, the forward; and the
// audit row, written from the outcome this function returns.

import type { Principal } from "../auth/principal.ts";
import { auditJson } from "../audit/redact.ts";
import { logger, logs } from "../log.ts";
import type { AuditStore } from "../audit/store.ts";
import type { Result } from "../backends/request.ts";
import type { OwnMethods } from "../dispatch/own-methods.ts";
import type { Route, Router } from "../dispatch/router.ts";
import { toJsonRpcError, toSentinelError, Unauthenticated, UnknownTarget, type SentinelError } from "../errors.ts";
import { failure, success, type JsonRpcId, type Message, type Notification, type Request, type Response } from "../jsonrpc/message.ts";
import type { SessionConnections } from "../session/connections.ts";
import type { Session } from "../session/session.ts";
import { Call } from "./call.ts";
import type { CallObserver, Ended, Observation } from "./observe.ts";
import type { Policy } from "./policy.ts";
import type { Approvals } from "../policy/approvals.ts";
import type { TargetKind } from "./policy.ts";
import { connect, NO_VERDICT, Refused, STEPS, type RouteTo, type Verdict } from "./steps.ts";
import { interactive } from "./warm.ts";

const log = logger("pipeline");

// Methods whose work happens at a backend and so can be cancelled.
const CANCELLABLE = new Set(["tools/call", "prompts/get", "resources/read", "completion/complete", "tasks/result"]);

export type PipelineDeps = {
  own: OwnMethods;
  router: Router;
  policy: Policy;
  connections: SessionConnections;
  audit: AuditStore | null;
  maxArgumentBytes: number;
  /** The approvals rules in force (rebuilt on reload); none: no call waits for approval. */
  approvals?: () => Approvals | null;
  /** Metrics and traces; none: nothing is watched (observe.ts). */
  observers?: CallObserver[];
};

/** How one request ended: what the audit row records; backendUs: time spent at the backend. */
type Outcome = { route: Route | null; verdict: Verdict; result: Result | null; error: SentinelError | null; backendUs: number };

export class Pipeline {
  /** Requests being handled now, across all sessions; shutdown waits for zero. */
  inflight = 0;
  private idle: (() => void) | null = null;

  constructor(private readonly deps: PipelineDeps) {}

  /**
   * Handles one request. `relate` sends messages that belong to it (progress,
   * server-to-client requests) where the front wants them; by default to the
   * session. `identity` is the credential this request carried (HTTP clients
   * refresh tokens inside a session). Resolves to null when the client
   * cancelled it: no answer is due.
   */
  request(session: Session, req: Request, relate?: (m: Message) => void, identity = session.identity): Promise<Response | null> {
    return this.call(new Call(session, identity, req, relate));
  }

  /** Handles one request as a call the front made (a 2026-07-28 request brings its own kind). */
  async call(call: Call): Promise<Response | null> {
    const ts = Date.now();
    const started = performance.now();
    const { session, request: req } = call;
    const cancellable = CANCELLABLE.has(req.method);
    const tracked = cancellable && call.tracked;
    if (tracked) session.inflight.set(req.id, call.cancel);
    this.inflight++;
    const watched = this.watch(call);
    let outcome: Outcome;
    try {
      outcome = await this.run(call, watched);
    } finally {
      if (tracked) session.inflight.delete(req.id);
      if (--this.inflight === 0) this.idle?.();
    }
    this.record(call, outcome, ts, started, cancellable);
    if (watched) this.ended(watched, call, outcome, started);
    if (call.cancel.cancelled) return null;
    return outcome.error ? failure(req.id, call.errorOf(outcome.error)) : success(req.id, call.resultOf(outcome.result!));
  }

  notification(session: Session, n: Notification): void {
    this.deps.own.notification(session, n);
  }

  /** A client's answer to a request Sentinel sent it on a backend's behalf. */
  response(session: Session, r: Response): void {
    session.receive(r);
  }

  /** A message the front could not accept (bad JSON, not JSON-RPC, too large): answered and audited. */
  rejected(session: Session | null, front: string, id: JsonRpcId | null, err: unknown, who?: string): Response {
    const error = toSentinelError(err);
    this.deps.audit?.record({
      ts: Date.now(),
      session: session?.id ?? null,
      front,
      identity: session?.identity.sub ?? who ?? "unknown",
      roles: session?.identity.roles ?? null,
      decision: error instanceof Unauthenticated ? "denied" : null,
      rule: null,
      method: "(invalid)",
      backend: null,
      target: null,
      args: null,
      outcome: "error",
      errorCode: error.rpcCode,
      error: error.message,
      latencyUs: 0,
      view: session?.view ?? null,
    });
    return failure(id, toJsonRpcError(error));
  }

  /** A subscriptions/listen that was granted: audited as the request it is (it is answered only when it ends). */
  listened(identity: Principal, front: string, granted: Record<string, unknown>, view: string | null = null): void {
    this.deps.audit?.record({
      ts: Date.now(),
      session: null,
      front,
      identity: identity.sub,
      roles: identity.roles,
      decision: null,
      rule: null,
      method: "subscriptions/listen",
      backend: null,
      target: Object.keys(granted).join(",") || null,
      args: auditJson(granted.resourceSubscriptions, this.deps.maxArgumentBytes),
      outcome: "ok",
      errorCode: null,
      error: null,
      latencyUs: 0,
      view,
    });
  }

  /** Resolves when no request is in flight, or after `ms`. */
  drain(ms: number): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** The observations of a call, if anything watches calls. */
  private watch(call: Call): Observation[] | null {
    const observers = this.deps.observers;
    if (!observers?.length) return null;
    const out: Observation[] = [];
    for (const o of observers) {
      const w = o.start(call);
      if (w) out.push(w);
    }
    return out.length ? out : null;
  }

  private ended(watched: Observation[], call: Call, o: Outcome, started: number): void {
    const how: Ended = {
      route: o.route,
      verdict: o.verdict,
      error: o.error,
      toolError: o.result?.isError === true,
      cancelled: call.cancel.cancelled,
      totalUs: (performance.now() - started) * 1000,
      backendUs: o.backendUs,
    };
    for (const w of watched) w.ended(how);
  }

  /** The request's way through, as an outcome; never throws. */
  private async run(call: Call, watched: Observation[] | null): Promise<Outcome> {
    let route: Route | null = null;
    let verdict = NO_VERDICT;
    let backendUs = 0;
    try {
      checkExpiry(call.identity);
      const { own, router } = this.deps;
      const method = call.request.method;
      const answer = own.handler(method);
      if (answer) return { route, verdict, result: await answer(call.session, call.request.params ?? {}, call.identity), error: null, backendUs };
      // Awaited only when a promise: each await is a turn of the event loop, on every call.
      const resolved = router.resolve(call.session, call.request);
      route = resolved instanceof Promise ? await resolved : resolved;
      // Only tool, prompt and resource routes can lack a backend (a task's is known).
      if (!route.backend) throw new UnknownTarget(route.kind as TargetKind, route.target);
      call.routed(route.backend.name);
      const ctx = { call, route: route as RouteTo, policy: this.deps.policy, connections: this.deps.connections, approvals: this.deps.approvals?.() ?? null };
      for (const [, step] of STEPS) {
        const v = step(ctx, verdict);
        verdict = v instanceof Promise ? await v : v;
      }
      const picked = connect(ctx, verdict);
      const conn = picked instanceof Promise ? await picked : picked;
      interactive();
      if (!watched) return { route, verdict, result: await router.forward(call.session, route, conn, call), error: null, backendUs };
      for (const w of watched) w.forwarding?.(route);
      const sent = performance.now();
      let result: Result;
      try {
        result = await router.forward(call.session, route, conn, call);
      } finally {
        backendUs = (performance.now() - sent) * 1000;
        for (const w of watched) w.forwarded?.();
      }
      return { route, verdict, result, error: null, backendUs };
    } catch (err) {
      if (err instanceof Refused) return { route, verdict: err.verdict, result: null, error: err.error, backendUs };
      return { route, verdict, result: null, error: toSentinelError(err, call.id), backendUs };
    }
  }

  private record(call: Call, o: Outcome, ts: number, started: number, cancellable: boolean): void {
    const req = call.request;
    // At debug level each call is a log line too, under the request id its audit row has.
    if (logs("debug")) {
      const how = o.error ? `${o.error.code} ${o.error.message}` : "ok";
      log.debug(`${req.method} ${o.route?.target ?? ""} -> ${how}`, { requestId: call.id, backend: o.route?.backend?.name });
    }
    this.deps.audit?.record({
      ts,
      session: call.auditSession,
      front: call.session.front,
      identity: call.identity.sub,
      roles: call.identity.roles,
      decision: o.verdict.decision,
      rule: o.verdict.rule,
      method: req.method,
      backend: o.route?.backend?.name ?? null,
      target: o.route?.target ?? null,
      args: cancellable ? auditJson(argumentsOf(req), this.deps.maxArgumentBytes) : null,
      // A tool result with isError is a failed call, though a well-formed answer.
      outcome: o.error || o.result?.isError === true ? "error" : "ok",
      errorCode: o.error ? o.error.rpcCode : null,
      error: call.cancel.cancelled ? "cancelled by client" : o.error ? o.error.message : null,
      latencyUs: Math.round((performance.now() - started) * 1000),
      requestId: call.id,
      retries: call.retries,
      view: call.session.view,
    });
  }
}

/** A token can expire during a long session (stdio verifies it once, at start). */
function checkExpiry(identity: Principal): void {
  const exp = identity.expiresAt;
  if (exp !== null && Date.now() > exp) throw new Unauthenticated("Unauthorized: the token has expired");
}

function argumentsOf(req: Request): unknown {
  const p = req.params;
  if (!p) return undefined;
  if (req.method === "resources/read") return undefined; // the URI is the target
  if (req.method === "completion/complete") return p.argument;
  return p.arguments;
}
