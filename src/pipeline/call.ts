// One client request on its way through the pipeline: who sent it, how to
// cancel it, and where the messages that belong to it go. It is also the
// request options a backend gets (backends/request.ts), so progress, log lines
// and the backend's own requests during the call come back to this call
// without the backend knowing sessions.

import type { Principal } from "../auth/principal.ts";
import { CancelSignal, type RequestOptions, type Result } from "../backends/request.ts";
import { toJsonRpcError, type JsonRpcErrorObject, type SentinelError } from "../errors.ts";
import type { Message, Notification, Params, Request } from "../jsonrpc/message.ts";
import { legacyResult } from "./result-shape.ts";
import type { Session } from "../session/session.ts";

// Request ids: unique in this process and across processes on one database (a random prefix), cheap to make.
const ID_PREFIX = Math.random().toString(36).slice(2, 8);
let nextId = 0;

export class Call implements RequestOptions {
  /** This request's id in Sentinel's logs, audit row and trace. */
  readonly id = `${ID_PREFIX}-${(nextId++).toString(36)}`;
  readonly cancel = new CancelSignal();
  readonly progressToken: string | number | undefined;
  /** A large result may be relayed as bytes: the pipeline only passes it on. */
  readonly relay = true;
  /** Kept in the session's calls in flight, for notifications/cancelled and its close. */
  readonly tracked: boolean = true;
  /** Times an idempotent read was retried at its backend (the audit row says so). */
  retries = 0;
  /** The backend the route chose, once it is known (routed()). */
  backend: string | null = null;
  /** Set by tracing (ops/tracing.ts) when it forwards: the backend continues this call's trace, not the caller's span. */
  traceparent: string | undefined;
  tracestate: string | undefined;

  constructor(
    readonly session: Session,
    readonly identity: Principal,
    readonly request: Request,
    /** Where messages that belong to this request go (an HTTP answer stream); by default the session. */
    private readonly relateTo: ((m: Message) => void) | undefined,
  ) {
    const token = (request.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    this.progressToken = typeof token === "string" || typeof token === "number" ? token : undefined;
  }

  /** What the client declared at initialize: a modern backend is told so per request. */
  get clientCapabilities(): Record<string, unknown> {
    return this.session.clientCapabilities;
  }

  get logLevel(): string | undefined {
    return this.session.logLevel ?? undefined;
  }

  /** The session the audit row names; null for a request that has none (2026-07-28). */
  get auditSession(): string | null {
    return this.session.id;
  }

  /** Whether a log message at `level` may reach the client with this call. */
  wantsLog(level: unknown): boolean {
    return this.session.wantsLog(level);
  }

  /** The opaque tag reverse routing compares: this call's session. */
  get origin(): Session {
    return this.session;
  }

  /** The route found its backend (throws when this call may not go there). */
  routed(backend: string): void {
    this.backend = backend;
  }

  /** The result as this call's client reads it (a modern backend's fields removed for a 2025 client). */
  resultOf(result: Result): Result {
    return legacyResult(result);
  }

  errorOf(error: SentinelError): JsonRpcErrorObject {
    return toJsonRpcError(error);
  }

  relate(message: Message): void {
    if (this.relateTo) this.relateTo(message);
    else this.session.send(message);
  }

  onProgress(params: Params): void {
    if (!this.cancel.cancelled) this.relate({ jsonrpc: "2.0", method: "notifications/progress", params });
  }

  onNotification(n: Notification): void {
    this.relate(n);
  }

  onRequest(r: Request, cancel: CancelSignal): Promise<Result> {
    return this.session.request(r.method, r.params, (m) => this.relate(m), cancel);
  }
}
