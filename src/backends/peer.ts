// The client side of JSON-RPC over one backend transport: ids, pending calls,
// timeouts, and routing of what the backend sends on its own.

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
  type Message,
  type Notification,
  type Params,
  type Request,
} from "../jsonrpc/message.ts";
import type { Transport } from "./transport.ts";

type Pending = {
  resolve: (result: Record<string, unknown>) => void;
  reject: (err: SentinelError) => void;
  timer: ReturnType<typeof setTimeout>;
};

/** Filled in with a function that cancels the request at the backend. */
export type CancelHook = { cancel: ((reason: string) => void) | null };

export class Peer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed: SentinelError | null = null;

  /** Notifications from the backend (list changes, logs, progress). */
  onnotification: (n: Notification) => void = () => {};
  /** Requests from the backend (sampling, elicitation, roots). */
  onrequest: (r: Request) => Promise<Record<string, unknown>> = (r) => Promise.reject(new MethodNotFound(r.method));

  constructor(
    readonly backend: string,
    private readonly transport: Transport,
  ) {
    transport.onmessage = (m) => this.receive(m);
  }

  request(method: string, params: Params | undefined, timeoutMs: number, hook?: CancelHook): Promise<Record<string, unknown>> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        // Tell the backend to stop working on it; its late answer is ignored.
        this.notify("notifications/cancelled", { requestId: id, reason: "timeout" });
        reject(new BackendTimeout(this.backend, timeoutMs));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      if (hook) hook.cancel = (reason) => this.cancel(id, reason);
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

  private receive(m: Message): void {
    if (isRequest(m)) {
      this.onrequest(m).then(
        (result) => this.transport.send(success(m.id, result)),
        (err) => this.transport.send(failure(m.id, toJsonRpcError(err))),
      );
      return;
    }
    if (isNotification(m)) {
      this.onnotification(m);
      return;
    }
    if (typeof m.id !== "number") return;
    const p = this.pending.get(m.id);
    if (!p) return; // late answer to a call that timed out or was cancelled
    clearTimeout(p.timer);
    this.pending.delete(m.id);
    if ("error" in m) p.reject(new BackendError(m.error));
    else p.resolve(m.result);
  }
}
