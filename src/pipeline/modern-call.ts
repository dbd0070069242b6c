// A call from a 2026-07-28 client. It has no session to speak to: what belongs
// to it goes on its own answer stream, log lines only at the level this very
// request asked for, and a backend's own requests (sampling, elicitation,
// roots) are never sent to the client but asked back in an input_required
// result: the call is parked until the client retries with the answers (MRTR).

import type { Principal } from "../auth/principal.ts";
import type { CancelSignal, Result } from "../backends/request.ts";
import { InvalidParams, MethodNotFound, type JsonRpcErrorObject, type SentinelError } from "../errors.ts";
import { toJsonRpcError } from "../errors.ts";
import type { Message, Notification, Params, Request, Response } from "../jsonrpc/message.ts";
import { wantsLogAt, type Envelope } from "../session/envelope.ts";
import type { Session } from "../session/session.ts";
import { Call } from "./call.ts";
import { modernError, modernResult } from "./result-shape.ts";

/** One thing the backend asked for, waiting for the client's answer. */
export type Ask = {
  key: string;
  method: string;
  params: Params | undefined;
  resolve(result: Result): void;
  reject(err: SentinelError): void;
};

// Which capability the client must declare for each kind of input request.
const NEEDS: Record<string, string> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
};

export class ModernCall extends Call {
  override readonly tracked = false;
  readonly takesInputRequired = true;
  /** The answer of the whole call, once running (the pipeline's promise). */
  run: Promise<Response | null> | null = null;
  /** Where messages for it go now: the open request's stream (the first, or the retry); none while the client is away. */
  stream: ((m: Message) => void) | null;
  /** The progress token of the request open now: a retry may bring its own. */
  streamToken: string | number | undefined;
  /** Input requests the client has not answered yet, by key. */
  readonly asks = new Map<string, Ask>();
  /** Set when it may not park (over the per-principal cap): input requests are refused. */
  refuseInput: string | null = null;
  private nextKey = 1;
  private waiter: (() => void) | null = null;
  private flush: ReturnType<typeof setTimeout> | null = null;

  constructor(
    session: Session,
    identity: Principal,
    request: Request,
    relate: ((m: Message) => void) | null,
    /** The envelope of the request open now (a retry brings its own). */
    public envelope: Envelope,
    private readonly serverInfo: Record<string, unknown>,
  ) {
    super(session, identity, request, undefined);
    this.stream = relate;
    this.streamToken = this.progressToken;
  }

  override get clientCapabilities(): Record<string, unknown> {
    return this.envelope.capabilities;
  }

  override get logLevel(): string | undefined {
    return this.envelope.logLevel ?? undefined;
  }

  override get auditSession(): string | null {
    return null;
  }

  override wantsLog(level: unknown): boolean {
    return wantsLogAt(this.envelope.logLevel, level);
  }

  /** A retry carrying a modern backend's own state goes to that backend only (its state would mean nothing elsewhere). */
  relayedFrom: string | null = null;

  override routed(backend: string): void {
    if (this.relayedFrom !== null && this.relayedFrom !== backend) {
      throw new InvalidParams("Invalid params: requestState belongs to another backend; call again without it");
    }
    super.routed(backend);
  }

  override resultOf(result: Result): Result {
    return modernResult(this.request.method, result, this.serverInfo);
  }

  override errorOf(error: SentinelError): JsonRpcErrorObject {
    return modernError(this.request.method, toJsonRpcError(error), this.request.params?.uri);
  }

  override relate(message: Message): void {
    this.stream?.(message);
  }

  /** Progress of a parked call goes to the request open now, under that request's token. */
  override onProgress(params: Params): void {
    const token = this.streamToken;
    if (token === undefined || this.cancel.cancelled) return;
    this.relate({ jsonrpc: "2.0", method: "notifications/progress", params: { ...params, progressToken: token } });
  }

  /** A retry takes the call over: its envelope, its stream, its progress token. */
  resumeWith(envelope: Envelope, relate: ((m: Message) => void) | null, request: Request): void {
    this.envelope = envelope;
    this.stream = relate;
    const token = (request.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    this.streamToken = typeof token === "string" || typeof token === "number" ? token : undefined;
  }

  override onNotification(n: Notification): void {
    // Gone in 2026-07-28: the client learns a URL elicitation's end by retrying.
    if (n.method === "notifications/elicitation/complete") return;
    if (n.method === "notifications/message" && !this.wantsLog(n.params?.level)) return;
    this.relate(n);
  }

  /** A backend's request during this call: asked back in input_required, answered when the client retries. */
  override onRequest(r: Request, cancel: CancelSignal): Promise<Result> {
    const needs = NEEDS[r.method];
    if (!needs) return Promise.reject(new MethodNotFound(r.method));
    const declared = this.envelope.capabilities[needs] as Record<string, unknown> | undefined;
    if (!declared) return Promise.reject(new MethodNotFound(`${r.method} (the client did not declare the ${needs} capability)`));
    if (r.method === "elicitation/create" && r.params?.mode === "url" && !("url" in declared)) {
      return Promise.reject(new MethodNotFound("elicitation/create (the client does not support URL mode)"));
    }
    if (this.refuseInput) return Promise.reject(new MethodNotFound(`${r.method} (${this.refuseInput})`));
    const key = `${needs}-${this.nextKey++}`;
    // The 2025 URL elicitation's id has no place in 2026-07-28, where the retry says it is done.
    const params = r.method === "elicitation/create" && r.params?.elicitationId !== undefined ? withoutId(r.params) : r.params;
    return new Promise<Result>((resolve, reject) => {
      this.asks.set(key, { key, method: r.method, params, resolve, reject });
      cancel.onCancel(() => this.asks.delete(key));
      // Requests a backend sends together are asked together.
      this.flush ??= setTimeout(() => {
        this.flush = null;
        if (this.asks.size) this.waiter?.();
      }, 1);
    });
  }

  /** Resolves when the call needs the client's input (at once if some is still unanswered). */
  inputNeeded(): Promise<void> {
    if (this.asks.size) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = () => {
        this.waiter = null;
        resolve();
      };
    });
  }

  /** The client's answers, by the keys it was asked under; missing ones are asked again, extra ones ignored. */
  answer(responses: unknown): void {
    if (typeof responses !== "object" || responses === null) return;
    for (const [key, value] of Object.entries(responses)) {
      const ask = this.asks.get(key);
      if (!ask || typeof value !== "object" || value === null) continue;
      this.asks.delete(key);
      ask.resolve(value as Result);
    }
  }

  /** What the backend asked is declined (elicitation) or refused, without waiting for the client. */
  refuseAsks(reason: string): void {
    for (const ask of this.asks.values()) {
      if (ask.method === "elicitation/create") ask.resolve({ action: "cancel" });
      else ask.reject(new MethodNotFound(`${ask.method} (${reason})`));
    }
    this.asks.clear();
  }

  /** The client did not come back: what the backend asked is refused, and the call cancelled there. */
  abandon(reason: string): void {
    this.refuseAsks(reason);
    this.cancel.cancel(reason);
  }
}

function withoutId(params: Params): Params {
  const { elicitationId: _id, ...rest } = params;
  return rest;
}
