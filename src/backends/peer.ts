// The client side of JSON-RPC over one backend transport: ids, pending calls,
// timeouts, progress and cancellation per request, and the backend's own
// requests and notifications handed up with the request they came with, when
// the transport can tell (reverse-routing.ts decides where they go).

import { BackendError, BackendTimeout, BackendUnavailable, MethodNotFound, toJsonRpcError, type SentinelError } from "../errors.ts";
import {
  failure,
  isNotification,
  isRequest,
  success,
  type JsonRpcId,
  type Message,
  type Notification,
  type Params,
  type Request,
} from "../jsonrpc/message.ts";
import { PendingRequests } from "../jsonrpc/pending.ts";
import { RawResult } from "../jsonrpc/raw-result.ts";
import { CancelSignal, type RequestOptions, type Result } from "./request.ts";
import type { Transport } from "./transport.ts";

const NONE: RequestOptions = {};

export class Peer {
  private nextId = 1;
  private readonly pending = new PendingRequests<RequestOptions>();
  private closed: SentinelError | null = null;
  /** The backend's own requests being answered, so that it can cancel them. */
  private readonly inbound = new Map<JsonRpcId, CancelSignal>();

  /**
   * Notifications from the backend other than progress (which goes straight to
   * its request). `related`: the options of the request it came with, if known.
   */
  onnotification: (n: Notification, related: RequestOptions | null) => void = () => {};
  /** Requests from the backend (sampling, elicitation, roots), likewise. */
  onrequest: (r: Request, related: RequestOptions | null, cancel: CancelSignal) => Promise<Result> = (r) =>
    Promise.reject(new MethodNotFound(r.method));

  constructor(
    readonly backend: string,
    private readonly transport: Transport,
  ) {
    transport.onmessage = (m, relatedTo) => this.receive(m, relatedTo);
  }

  /**
   * Sends a request. With a progress token, the caller's token is swapped for
   * this request's own id (unique on this connection, so tokens of different
   * callers cannot collide) and restored on the way back.
   */
  request(method: string, params: Params | undefined, timeoutMs: number, options: RequestOptions = NONE): Promise<Result> {
    if (this.closed) return Promise.reject(this.closed);
    // Withdrawn before it got here (the client cancelled while it was routed): not sent at all.
    if (options.cancel?.cancelled) return Promise.reject(new BackendUnavailable(`Request cancelled: ${options.cancel.reason}`));
    const id = this.nextId++;
    if (options.progressToken !== undefined && params) {
      params = { ...params, _meta: { ...(params._meta as object), progressToken: id } };
    }
    if (options.traceparent !== undefined) params = withTrace(params, options);
    const answer = this.pending.add(id, options, timeoutMs, () => {
      // Tell the backend to stop working on it; its late answer is ignored.
      this.stopRemote(id, "timeout");
      return new BackendTimeout(this.backend, timeoutMs);
    });
    options.cancel?.onCancel((reason) => this.cancel(id, reason));
    this.transport.send(params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params });
    return answer;
  }

  /** request(), and the id it went under (a subscriptions/listen is known by it). */
  requestWithId(method: string, params: Params | undefined, timeoutMs: number, options: RequestOptions = NONE): { id: number; answer: Promise<Result> } {
    const id = this.nextId;
    return { id, answer: this.request(method, params, timeoutMs, options) };
  }

  notify(method: string, params?: Params): void {
    if (this.closed) return;
    this.transport.send(params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params });
  }

  /** Rejects every pending call; later calls fail at once with the same error. */
  fail(err: SentinelError): void {
    this.closed ??= err;
    this.pending.rejectAll(err);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** The options of every request waiting for an answer (reverse-routing.ts reads their origins). */
  waiting(): IterableIterator<RequestOptions> {
    return this.pending.values();
  }

  private cancel(id: number, reason: string): void {
    if (this.pending.reject(id, new BackendUnavailable(`Request cancelled: ${reason}`))) this.stopRemote(id, reason);
  }

  /** Tells the backend to stop working on a request: by notification, or (modern HTTP) by closing its POST. */
  private stopRemote(id: number, reason: string): void {
    if (!this.transport.cancel?.(id)) this.notify("notifications/cancelled", { requestId: id, reason });
  }

  /** The request a backend message came with, when the transport knows (Streamable HTTP: its response stream). */
  private related(relatedTo: JsonRpcId | undefined): RequestOptions | null {
    return relatedTo === undefined ? null : (this.pending.data(relatedTo) ?? null);
  }

  private receive(m: Message, relatedTo?: JsonRpcId): void {
    if (isRequest(m)) return this.receiveRequest(m, relatedTo);
    if (isNotification(m)) {
      if (m.method === "notifications/cancelled" && this.cancelInbound(m)) return;
      if (m.method === "notifications/progress" && this.relayProgress(m)) return;
      this.onnotification(m, this.related(relatedTo));
      return;
    }
    if (typeof m.id !== "number") return;
    if ("error" in m) {
      this.pending.reject(m.id, new BackendError(m.error));
      return;
    }
    // A large result arrives as bytes; only a relaying caller takes it as such, others read it.
    const raw = (m.result as unknown) instanceof RawResult && !this.pending.data(m.id)?.relay;
    this.pending.resolve(m.id, raw ? (m.result as unknown as RawResult).parse() : m.result);
  }

  private receiveRequest(m: Request, relatedTo: JsonRpcId | undefined): void {
    const cancel = new CancelSignal();
    this.inbound.set(m.id, cancel);
    this.onrequest(m, this.related(relatedTo), cancel)
      .then(
        (result) => this.transport.send(success(m.id, result)),
        (err) => {
          // A request the backend itself cancelled is owed no answer.
          if (this.inbound.has(m.id)) this.transport.send(failure(m.id, toJsonRpcError(err)));
        },
      )
      .finally(() => this.inbound.delete(m.id));
  }

  /** The backend cancelled one of its requests (sampling, elicitation): pass it on. */
  private cancelInbound(n: Notification): boolean {
    const id = n.params?.requestId as JsonRpcId | undefined;
    const cancel = id === undefined ? undefined : this.inbound.get(id);
    if (!cancel) return false;
    this.inbound.delete(id!);
    cancel.cancel(String(n.params?.reason ?? "cancelled by the server"));
    return true;
  }

  /** Progress for one of our requests goes to its caller, under the caller's own token. */
  private relayProgress(n: Notification): boolean {
    const token = n.params?.progressToken;
    const options = typeof token === "number" ? this.pending.data(token) : undefined;
    if (!options?.onProgress || options.progressToken === undefined) return false;
    options.onProgress({ ...n.params, progressToken: options.progressToken });
    return true;
  }
}

/** The caller's trace context at this backend replaces what its client sent (both eras pass here; tracing.ts). */
function withTrace(params: Params | undefined, options: RequestOptions): Params {
  const { tracestate: _, ...meta } = (params?._meta ?? {}) as Record<string, unknown>;
  meta.traceparent = options.traceparent;
  if (options.tracestate !== undefined) meta.tracestate = options.tracestate;
  return { ...params, _meta: meta };
}
