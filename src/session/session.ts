// One client session: who it is, what it negotiated, and its calls in flight.
// A stdio front has exactly one; the HTTP front has one per Mcp-Session-Id.

import type { Identity } from "../config/load.ts";
import type { JsonRpcId, Message } from "../jsonrpc/message.ts";

export type Front = "stdio" | "http";

/** One client request in flight: where it was routed (for the audit row) and how to cancel it. */
export type Call = {
  backend: string | null;
  target: string | null;
  /** Set by the backend connection once the request is on its way. */
  cancel: ((reason: string) => void) | null;
};

export class Session {
  protocolVersion: string | null = null;
  clientInfo: Record<string, unknown> = {};
  clientCapabilities: Record<string, unknown> = {};
  initialized = false;
  closed = false;
  lastSeen = Date.now();
  /** Client request id -> the call, for notifications/cancelled and disconnects. */
  readonly inflight = new Map<JsonRpcId, Call>();

  constructor(
    readonly id: string,
    readonly front: Front,
    readonly identity: Identity,
    /** Sends a message the client did not ask for (notifications, server requests). */
    private readonly deliver: (message: Message) => void,
  ) {}

  send(message: Message): void {
    if (!this.closed) this.deliver(message);
  }

  cancel(id: JsonRpcId, reason: string): void {
    this.inflight.get(id)?.cancel?.(reason);
  }

  close(reason = "session closed"): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.inflight.values()) c.cancel?.(reason);
    this.inflight.clear();
  }
}
