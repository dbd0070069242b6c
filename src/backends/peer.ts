// The client side of JSON-RPC over one backend transport: ids, pending calls,
// timeouts, and routing of what the backend sends on its own back to the
// client call it belongs to.

import {
  BackendError,
  BackendTimeout,
  BackendUnavailable,
  MethodNotFound,
  toJsonRpcError,
  type SentinelError,
} from "../errors.ts";
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
import type { Call } from "../session/session.ts";
import { RawResult } from "../jsonrpc/raw-result.ts";
import type { Transport } from "./transport.ts";

/** Filled in by whoever carries a request further, with a way to cancel it there. */
export type CancelHook = { cancel: ((reason: string) => void) | null };

type Pending = {
  resolve: (result: Record<string, unknown>) => void;
  reject: (err: SentinelError) => void;
  timer: ReturnType<typeof setTimeout>;
  call: Call | undefined;
};

export class Peer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed: SentinelError | null = null;

  /**
   * Notifications from the backend other than progress (which goes straight to
   * its call). `origin` is the client call it belongs to, when that is known.
   */
  onnotification: (n: Notification, origin: Call | null) => void = () => {};
  /** Requests from the backend (sampling, elicitation, roots), with their origin as above. */
  onrequest: (r: Request, origin: Call | null, cancel: CancelHook) => Promise<Record<string, unknown>> = (r) =>
    Promise.reject(new MethodNotFound(r.method));
  /** The backend's own requests being answered, so that it can cancel them. */
  private readonly inbound = new Map<JsonRpcId, CancelHook>();

  constructor(
    readonly backend: string,
    private readonly transport: Transport,
  ) {
    transport.onmessage = (m, relatedTo) => this.receive(m, relatedTo);
  }

  /**
   * Sends a request. With `call`, the client's progress token is swapped for
   * this request's own id (unique on this connection, so tokens of different
   * clients cannot collide) and `call.cancel` is set.
   */
  request(method: string, params: Params | undefined, timeoutMs: number, call?: Call): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    if (call?.progressToken != null && params) {
      params = { ...params, _meta: { ...(params._meta as object), progressToken: id } };
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        // Tell the backend to stop working on it; its late answer is ignored.
        this.notify("notifications/cancelled", { requestId: id, reason: "timeout" });
        reject(new BackendTimeout(this.backend, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, call });
      if (call) call.cancel = (reason) => this.cancel(id, reason);
      const message: Request = params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params };
      this.transport.send(message);
    });
  }

  notify(method: string, params?: Params): void {
    if (this.closed) return;
    this.transport.send(params === undefined ? { jsonrpc: "2.0", method } : { jsonrpc: "2.0", method, params });
  }

  /** Rejects every pending call; later calls fail at once with the same error. */
  fail(err: SentinelError): void {
    this.closed ??= err;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
      this.pending.delete(id);
    }
  }

  get inFlight(): number {
    return this.pending.size;
  }

  private cancel(id: number, reason: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    this.notify("notifications/cancelled", { requestId: id, reason });
    p.reject(new BackendUnavailable(`Request cancelled: ${reason}`));
  }

  /**
   * The client call a backend-initiated message belongs to. The transport may
   * know (Streamable HTTP: it came on that request's response stream); else it
   * is the calls in flight here, if they all come from one session. Never a
   * guess between sessions: null then.
   */
  private originOf(relatedTo: JsonRpcId | undefined): Call | null {
    if (typeof relatedTo === "number") {
      const call = this.pending.get(relatedTo)?.call;
      if (call) return call;
    }
    let origin: Call | null = null;
    for (const p of this.pending.values()) {
      if (!p.call) continue;
      if (origin && origin.session !== p.call.session) return null;
      origin = p.call;
    }
    return origin;
  }

  private receive(m: Message, relatedTo?: JsonRpcId): void {
    if (isRequest(m)) {
      const hook: CancelHook = { cancel: null };
      this.inbound.set(m.id, hook);
      this.onrequest(m, this.originOf(relatedTo), hook)
        .then(
          (result) => this.transport.send(success(m.id, result)),
          (err) => {
            // A request the backend itself cancelled is owed no answer.
            if (this.inbound.has(m.id)) this.transport.send(failure(m.id, toJsonRpcError(err)));
          },
        )
        .finally(() => this.inbound.delete(m.id));
      return;
    }
    if (isNotification(m)) {
      if (m.method === "notifications/cancelled" && this.cancelInbound(m)) return;
      if (m.method === "notifications/progress" && this.relayProgress(m)) return;
      this.onnotification(m, this.originOf(relatedTo));
      return;
    }
    if (typeof m.id !== "number") return;
    const p = this.pending.get(m.id);
    if (!p) return; // late answer to a call that timed out or was cancelled
    clearTimeout(p.timer);
    this.pending.delete(m.id);
    if ("error" in m) p.reject(new BackendError(m.error));
    // A large result arrives as bytes; only a client's call relays it as such, Sentinel's own requests read it.
    else p.resolve(p.call || !((m.result as unknown) instanceof RawResult) ? m.result : (m.result as unknown as RawResult).parse());
  }

  /** The backend cancelled one of its requests (sampling, elicitation): pass it on to the client. */
  private cancelInbound(n: Notification): boolean {
    const id = n.params?.requestId as JsonRpcId | undefined;
    const hook = id === undefined ? undefined : this.inbound.get(id);
    if (!hook) return false;
    this.inbound.delete(id!);
    hook.cancel?.(String(n.params?.reason ?? "cancelled by the server"));
    return true;
  }

  /** Progress for one of our requests goes to its call, under the client's own token. */
  private relayProgress(n: Notification): boolean {
    const token = n.params?.progressToken;
    const call = typeof token === "number" ? this.pending.get(token)?.call : undefined;
    if (!call || call.progressToken == null) return false;
    if (!call.cancelled) call.relate({ jsonrpc: "2.0", method: n.method, params: { ...n.params, progressToken: call.progressToken } });
    return true;
  }
}
