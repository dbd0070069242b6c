// One client session: who it is, what it negotiated, its calls in flight, and
// the requests Sentinel has sent it on a backend's behalf. A stdio front has
// exactly one; the HTTP front has one per Mcp-Session-Id.

import type { Principal } from "../auth/principal.ts";
import type { CancelSignal, Result } from "../backends/request.ts";
import { BackendError, BackendTimeout, BackendUnavailable, MethodNotFound, ShuttingDown } from "../errors.ts";
import type { JsonRpcId, Message, Params, Response } from "../jsonrpc/message.ts";
import { PendingRequests } from "../jsonrpc/pending.ts";

export type Front = "stdio" | "http";

export const LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"] as const;
export type McpLogLevel = (typeof LOG_LEVELS)[number];

// How long a client may take to answer a server-to-client request (a person may be answering).
const CLIENT_REQUEST_TIMEOUT_MS = 10 * 60_000;

// Which capability a client must have declared for each server-to-client request.
const NEEDS: Record<string, string> = {
  "sampling/createMessage": "sampling",
  "elicitation/create": "elicitation",
  "roots/list": "roots",
};

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
  /** Client request id -> its cancellation, for notifications/cancelled and disconnects. */
  readonly inflight = new Map<JsonRpcId, CancelSignal>();
  private readonly outgoing = new PendingRequests();
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
    /** The view (virtual server) it was opened in, from the front; null is the full view. */
    readonly view: string | null = null,
  ) {}

  /**
   * Sends what the client did not ask for. Not to a client that never opened a
   * 2025 session (a 2026-07-28 client on stdio, a principal's modern calls on
   * HTTP): it takes messages only on the streams of its own requests.
   */
  send(message: Message): void {
    if (!this.closed && this.protocolVersion !== null) this.deliver(message);
  }

  /**
   * Sends a request to the client on a backend's behalf and waits for its answer.
   * Refused when the client did not declare the capability it needs. `relate`
   * sends it where the call it belongs to wants its messages (an HTTP answer
   * stream); `cancel` fires when the backend withdraws it.
   */
  request(method: string, params: Params | undefined, relate?: (m: Message) => void, cancel?: CancelSignal): Promise<Result> {
    const needs = NEEDS[method];
    if (needs && !(needs in this.clientCapabilities)) {
      return Promise.reject(new MethodNotFound(`${method} (the client did not declare the ${needs} capability)`));
    }
    if (method === "elicitation/create" && params?.mode === "url") {
      const e = this.clientCapabilities.elicitation as Record<string, unknown> | undefined;
      if (!e || !("url" in e)) return Promise.reject(new MethodNotFound("elicitation/create (the client does not support URL mode)"));
    }
    if (this.closed) return Promise.reject(new ShuttingDown());
    if (this.protocolVersion === null) return Promise.reject(new MethodNotFound(`${method} (the client takes no requests outside its calls)`));
    // Ids of our own, so they cannot be confused with the client's.
    const id = `sentinel-${this.nextOutgoing++}`;
    const answer = this.outgoing.add(id, undefined, CLIENT_REQUEST_TIMEOUT_MS, () => new BackendTimeout("client", CLIENT_REQUEST_TIMEOUT_MS));
    // The backend withdrew its request: tell the client under our id, and stop waiting.
    cancel?.onCancel((reason) => {
      if (this.outgoing.reject(id, new BackendUnavailable(`Request cancelled: ${reason}`))) {
        this.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: id, reason } });
      }
    });
    const message: Message = params === undefined ? { jsonrpc: "2.0", id, method } : { jsonrpc: "2.0", id, method, params };
    if (relate) relate(message);
    else this.send(message);
    return answer;
  }

  /** A client's answer to one of our requests. */
  receive(response: Response): void {
    if (typeof response.id !== "string") return;
    if ("error" in response) this.outgoing.reject(response.id, new BackendError(response.error));
    else this.outgoing.resolve(response.id, response.result);
  }

  /** Whether a log message at `level` should reach this session. */
  wantsLog(level: unknown): boolean {
    if (this.logLevel === null) return true;
    const rank = LOG_LEVELS.indexOf(level as McpLogLevel);
    return rank === -1 || rank >= LOG_LEVELS.indexOf(this.logLevel);
  }

  cancel(id: JsonRpcId, reason: string): void {
    this.inflight.get(id)?.cancel(reason);
  }

  close(reason = "session closed"): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.inflight.values()) c.stop(reason);
    this.inflight.clear();
    this.outgoing.rejectAll(new ShuttingDown());
    for (const f of this.onclose) f();
  }
}
