// The way of a 2026-07-28 request, on either front: the methods that era has,
// the request state of its retries, and its answer. The request itself takes
// the one pipeline (pipeline.ts) like any other; what differs is around it.
// A call whose backend asks for input (a 2025 backend's sampling, elicitation
// or roots request) is answered with input_required and parked until the
// client's retry brings the answers; a modern backend's input_required is
// relayed, its state sealed so that only the same principal can resume it.

import { principalKey, type Principal } from "../auth/principal.ts";
import type { CancelSignal, Result } from "../backends/request.ts";
import type { OwnMethods } from "../dispatch/own-methods.ts";
import { InvalidParams, UnknownMethod, type SentinelError } from "../errors.ts";
import { failure, success, type Message, type Params, type Request, type Response } from "../jsonrpc/message.ts";
import type { Envelope } from "../session/envelope.ts";
import type { Session } from "../session/session.ts";
import { ModernCall } from "./modern-call.ts";
import type { Parking } from "./parking.ts";
import type { Pipeline } from "./pipeline.ts";
import { digestOf, RequestStates } from "./request-state.ts";
import { MAY_NEED_INPUT, modernResult } from "./result-shape.ts";

/** The methods of 2026-07-28 that Sentinel serves; any other is unknown there (404 on HTTP). */
const METHODS = new Set([
  "server/discover",
  "tools/list",
  "tools/call",
  "prompts/list",
  "prompts/get",
  "resources/list",
  "resources/templates/list",
  "resources/read",
  "completion/complete",
  "subscriptions/listen",
]);

export type ModernDeps = {
  pipeline: Pipeline;
  own: OwnMethods;
  parking: Parking;
  states: RequestStates;
  inputTimeoutMs: number;
  serverInfo: Record<string, unknown>;
};

/** Who sends a modern request and how it reaches them. */
export type ModernCaller = {
  /** The session it is served in: the stdio front's, or one per principal on HTTP (it holds per-client connections and tasks). */
  session: Session;
  identity: Principal;
  envelope: Envelope;
  /** Where messages that belong to it go (progress, log lines); null to drop them. */
  relate: ((m: Message) => void) | null;
  /** Fires when the client withdraws it (a closed HTTP answer, notifications/cancelled on stdio). */
  abort: CancelSignal;
};

export class ModernRequests {
  constructor(private readonly deps: ModernDeps) {}

  /** The ladder's method check: throws for a method 2026-07-28 does not have (initialize, ping, logging/setLevel, ...). */
  check(method: string): void {
    if (!METHODS.has(method)) throw new UnknownMethod(method);
  }

  async discover(req: Request, view: string | null = null): Promise<Response> {
    return success(req.id, modernResult(req.method, await this.deps.own.discover(view), this.deps.serverInfo));
  }

  /** One request, answered in full, with input_required, or null when the client withdrew it. */
  request(caller: ModernCaller, req: Request): Promise<Response | null> | Response {
    if (req.method === "server/discover") return this.discover(req, caller.session.view);
    const p = req.params ?? {};
    let relayedFrom: string | null = null;
    if (MAY_NEED_INPUT.has(req.method) && p.requestState !== undefined) {
      let claims;
      try {
        claims = this.deps.states.open(p.requestState, principalKey(caller.identity), req.method, p);
      } catch (err) {
        return this.deps.pipeline.rejected(caller.session, caller.session.front, req.id, err as SentinelError, caller.identity.sub);
      }
      if (claims.kind === "park") return this.resume(caller, req, claims.park);
      // A modern backend's own state, restored byte for byte.
      const { requestState: _ours, ...rest } = p;
      req = { ...req, params: claims.inner === null ? rest : { ...rest, requestState: claims.inner } };
      relayedFrom = claims.backend;
    } else if (p.inputResponses !== undefined && !MAY_NEED_INPUT.has(req.method)) {
      req = { ...req, params: withoutInput(p) };
    }
    const call = new ModernCall(caller.session, caller.identity, req, caller.relate, caller.envelope, this.deps.serverInfo);
    call.relayedFrom = relayedFrom;
    caller.abort.onCancel((reason) => call.cancel.cancel(reason));
    call.run = this.deps.pipeline.call(call);
    return this.settle(call, req);
  }

  /** A retry of a parked call: its answers go to the backend, and it waits as the first request did. */
  private resume(caller: ModernCaller, req: Request, park: string): Promise<Response | null> | Response {
    const call = this.deps.parking.claim(park);
    if (!call) {
      const err = new InvalidParams("Invalid params: requestState names a call that no longer waits for input (it finished or expired); call again without it");
      return this.deps.pipeline.rejected(caller.session, caller.session.front, req.id, err, caller.identity.sub);
    }
    call.resumeWith(caller.envelope, caller.relate, req);
    caller.abort.onCancel((reason) => call.cancel.cancel(reason));
    call.answer(req.params?.inputResponses);
    return this.settle(call, req);
  }

  /** Whichever comes first: the call's answer, or its need of the client's input. */
  private async settle(call: ModernCall, req: Request): Promise<Response | null> {
    const { parking, states, inputTimeoutMs } = this.deps;
    const run = call.run!;
    const first = await Promise.race<Response | null | "input">([run, call.inputNeeded().then(() => "input" as const)]);
    if (first !== "input") {
      parking.release(call);
      call.stream = null;
      return first && this.answerFor(call, req, first);
    }
    const sub = principalKey(call.identity);
    const park = parking.hold(call, sub);
    if (park === null) {
      // Over the cap: what the backend asks is refused, and the call ends as the backend decides.
      call.refuseInput = "too many calls wait for this principal's input";
      call.refuseAsks(call.refuseInput);
      const answer = await run;
      return answer && this.answerFor(call, req, answer);
    }
    call.stream = null;
    const inputRequests: Record<string, unknown> = {};
    for (const ask of call.asks.values()) inputRequests[ask.key] = ask.params === undefined ? { method: ask.method } : { method: ask.method, params: ask.params };
    const p = req.params ?? {};
    const requestState = states.seal({
      kind: "park",
      park,
      sub,
      method: req.method,
      digest: digestOf(req.method, p),
      exp: Date.now() + inputTimeoutMs,
    });
    return success(req.id, { resultType: "input_required", inputRequests, requestState });
  }

  /** The call's answer under the id of the request it answers now; a modern backend's input_required gets Sentinel's seal. */
  private answerFor(call: ModernCall, req: Request, answer: Response): Response {
    if ("error" in answer) return answer.id === req.id ? answer : failure(req.id, answer.error);
    let result = answer.result as Result;
    if (result.resultType === "input_required" && call.backend) {
      const inner = typeof result.requestState === "string" ? result.requestState : null;
      const p = req.params ?? {};
      const requestState = this.deps.states.seal({
        kind: "relay",
        backend: call.backend,
        inner,
        sub: principalKey(call.identity),
        method: req.method,
        digest: digestOf(req.method, p),
        exp: Date.now() + this.deps.inputTimeoutMs,
      });
      result = { ...result, requestState };
    }
    return answer.id === req.id && result === answer.result ? answer : success(req.id, result);
  }
}

function withoutInput(p: Params): Params {
  const { inputResponses: _r, requestState: _s, ...rest } = p;
  return rest;
}
