// One client session: who it is, what it negotiated, its calls in flight, and
// the requests Sentinel has sent it on a backend's behalf. A stdio front has
// exactly one; the HTTP front has one per Mcp-Session-Id.

import type { Decision } from "../audit/store.ts";
import type { Principal } from "../auth/principal.ts";
import { BackendError, BackendTimeout, BackendUnavailable, MethodNotFound, ShuttingDown } from "../errors.ts";
import type { JsonRpcId, Message, Params, Response } from "../jsonrpc/message.ts";

export type Front = "stdio" | "http";

export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;
export type McpLogLevel = (typeof LOG_LEVELS)[number];

// How long a client may take to answer a server-to-client request (a person may be answering).
const CLIENT_REQUEST_TIMEOUT_MS = 10 * 60_000;

/** One client request in flight. */
export type Call = {
  session: Session;
  /** Who sent it, by the credential this request carried (HTTP clients refresh tokens mid-session). */
  identity: Principal;
  /** Where it was routed and what governance decided, for the audit row. */
  backend: string | null;
  target: string | null;
  decision: Decision | null;
  rule: string | null;
  /** The client's progress token, if it asked for progress. */
  progressToken: string | number | null;
  /** Set by the backend connection once the request is on its way. */
  cancel: ((reason: string) => void) | null;
  /** The client cancelled it: no response is sent. */
  cancelled: boolean;
  /** Sends a message that belongs to this request (progress, a server request, a log line). */
  relate(message: Message): void;
};

// Which capability a client must have declared for each server-to-client request.
const NEEDS: Record<string, string> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
};

type Outgoing = { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> };

export class Session {
  protocolVersion: string | null = null;
  clientInfo: Record<string, unknown> = {};
  clientCapabilities: Record<string, unknown> = {};
  initialized = false;
  closed = false;
  lastSeen = Date.now();
  /** Set by logging/setLevel; until then every log message passes, as from the backend directly. */
  logLevel: McpLogLevel | null = null;
  /** Resource URIs this session subscribed to. */
  readonly subscriptions = new Set<string>();
  /** Client request id -> the call, for notifications/cancelled and disconnects. */
  readonly inflight = new Map<JsonRpcId, Call>();
  private readonly outgoing = new Map<string, Outgoing>();
  private nextOutgoing = 1;
  /** Called when the session closes, so that what it holds elsewhere is released. */
  onclose: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly front: Front,
    /**
     * The credential of the latest request: same subject as the one that
     * opened the session, roles and expiry as last presented. Calls carry their own.
     */
    public identity: Principal,
    /** Sends a message the client did not ask for (notifications, server requests). */
    private readonly deliver: (message: Message) => void,
  ) {}

  send(message: Message): void {
    if (!this.closed) this.deliver(message);
  }

  /**
   * Sends a request to the client on a backend's behalf and waits for its answer.
   * Refused when the client did not declare the capability it needs.
   */
  request(
    method: string,
    params: Params | undefined,
    via: Call | null,
    hook?: { cancel: ((reason: string) => void) | null },
  ): Promise<Record<string, unknown>> {
    const needs = NEEDS[method];
    if (needs && !(needs in this.clientCapabilities)) {
      return Promise.reject(new MethodNotFound(`${method} (the client did not declare the ${needs} capability)`));
    }
    if (method === "elicitation/create" && params?.mode === "url") {
      const e = this.clientCapabilities.elicitation as Record<string, unknown> | undefined;
      if (!e || !("url" in e)) return Promise.reject(new MethodNotFound("elicitation/create (the client does not support URL mode)"));
    }
    if (this.closed) return Promise.reject(new ShuttingDown());
    // Ids of our own, so they cannot be confused with the client's.
    const id = `sentinel-${this.nextOutgoing++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.outgoing.delete(id);
        reject(new BackendTimeout("client", CLIENT_REQUEST_TIMEOUT_MS));
      }, CLIENT_REQUEST_TIMEOUT_MS);
      this.outgoing.set(id, { resolve, reject, timer });
      if (hook) {
        // The backend withdrew its request: tell the client under our id, and stop waiting.
        hook.cancel = (reason) => {
          const o = this.outgoing.get(id);
          if (!o) return;
          this.outgoing.delete(id);
          clearTimeout(o.timer);
          this.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason } });
          o.reject(new BackendUnavailable(`Request cancelled: ${reason}`));
        };
      }
      const message: Message = params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params };
      if (via && !via.cancelled) via.relate(message);
      else this.send(message);
    });
  }

  /** A client's answer to one of our requests. */
  receive(response: Response): void {
    if (typeof response.id !== "string") return;
    const o = this.outgoing.get(response.id);
    if (!o) return;
    this.outgoing.delete(response.id);
    clearTimeout(o.timer);
    if ("error" in response) o.reject(new BackendError(response.error));
    else o.resolve(response.result);
  }

  /** Whether a log message at `level` should reach this session. */
  wantsLog(level: unknown): boolean {
    if (this.logLevel === null) return true;
    const rank = LOG_LEVELS.indexOf(level as McpLogLevel);
    return rank === -1 || rank >= LOG_LEVELS.indexOf(this.logLevel);
  }

  cancel(id: JsonRpcId, reason: string): void {
    const call = this.inflight.get(id);
    if (!call) return;
    call.cancelled = true;
    call.cancel?.(reason);
  }

  close(reason = "session closed"): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.inflight.values()) c.cancel?.(reason);
    this.inflight.clear();
    for (const o of this.outgoing.values()) {
      clearTimeout(o.timer);
      o.reject(new ShuttingDown());
    }
    this.outgoing.clear();
    for (const f of this.onclose) f();
  }
}
