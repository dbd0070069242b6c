// The steps every client message passes, whichever front it came in on.
// The audit step wraps the rest, so that failures are recorded as well as
// successes; the governance steps (authorize, rate-limit) slot in before dispatch.

import { auditJson } from "../audit/redact.ts";
import type { AuditStore } from "../audit/store.ts";
import type { Dispatcher } from "../dispatch/dispatcher.ts";
import { toJsonRpcError, toSentinelError, Unauthenticated, type SentinelError } from "../errors.ts";
import {
  failure,
  success,
  type JsonRpcId,
  type Message,
  type Notification,
  type Request,
  type Response,
} from "../jsonrpc/message.ts";
import type { Call, Session } from "../session/session.ts";

// Methods whose work happens at a backend and so can be cancelled.
const CANCELLABLE = new Set(["tools/call", "prompts/get", "resources/read", "completion/complete", "tasks/result"]);

export class Pipeline {
  /** Requests being handled now, across all sessions; shutdown waits for zero. */
  inflight = 0;
  private idle: (() => void) | null = null;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly audit: AuditStore | null,
    private readonly maxArgumentBytes: number,
  ) {}

  /**
   * Handles one request. `relate` sends messages that belong to it (progress,
   * server-to-client requests) where the front wants them; by default to the
   * session. Resolves to null when the client cancelled it: no answer is due.
   */
  async request(session: Session, req: Request, relate?: (m: Message) => void, identity = session.identity): Promise<Response | null> {
    const ts = Date.now();
    const started = performance.now();
    const meta = req.params?._meta as { progressToken?: unknown } | undefined;
    const token = meta?.progressToken;
    const call: Call = {
      session,
      identity,
      backend: null,
      target: null,
      decision: null,
      rule: null,
      progressToken: typeof token === "string" || typeof token === "number" ? token : null,
      cancel: null,
      cancelled: false,
      relate: relate ?? ((m) => session.send(m)),
    };
    const cancellable = CANCELLABLE.has(req.method);
    if (cancellable) session.inflight.set(req.id, call);
    this.inflight++;
    let response: Response;
    let error: SentinelError | null = null;
    let toolFailed = false;
    try {
      // A token can expire during a long session (stdio verifies it once, at start).
      const exp = identity.expiresAt;
      if (exp !== null && Date.now() > exp) throw new Unauthenticated("Unauthorized: the token has expired");
      const result = await this.dispatcher.dispatch(session, req, call);
      toolFailed = result.isError === true;
      response = success(req.id, result);
    } catch (err) {
      error = toSentinelError(err);
      response = failure(req.id, toJsonRpcError(error));
    } finally {
      if (cancellable) session.inflight.delete(req.id);
      if (--this.inflight === 0) this.idle?.();
    }
    this.audit?.record({
      ts,
      session: session.id,
      front: session.front,
      identity: identity.sub,
      roles: identity.roles,
      decision: call.decision,
      rule: call.rule,
      method: req.method,
      backend: call.backend,
      target: call.target,
      args: cancellable ? auditJson(argumentsOf(req), this.maxArgumentBytes) : null,
      // A tool result with isError is a failed call, though a well-formed answer.
      outcome: error || toolFailed ? "error" : "ok",
      errorCode: error ? error.rpcCode : null,
      error: call.cancelled ? "cancelled by client" : error ? error.message : null,
      latencyUs: Math.round((performance.now() - started) * 1000),
    });
    return call.cancelled ? null : response;
  }

  notification(session: Session, n: Notification): void {
    this.dispatcher.notification(session, n);
  }

  /** A client's answer to a request Sentinel sent it on a backend's behalf. */
  response(session: Session, r: Response): void {
    session.receive(r);
  }

  /** A message the front could not accept (bad JSON, not JSON-RPC, too large): answered and audited. */
  rejected(session: Session | null, front: string, id: JsonRpcId | null, err: unknown, who?: string): Response {
    const error = toSentinelError(err);
    this.audit?.record({
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
    });
    return failure(id, toJsonRpcError(error));
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
}

function argumentsOf(req: Request): unknown {
  const p = req.params;
  if (!p) return undefined;
  if (req.method === "resources/read") return undefined; // the URI is the target
  if (req.method === "completion/complete") return p.argument;
  return p.arguments;
}
