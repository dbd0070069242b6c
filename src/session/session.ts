// One client session: who it is, what it negotiated, and its calls in flight.
// A stdio front has exactly one; the HTTP front has one per Mcp-Session-Id.

import type { Identity } from "../config/load.ts";
import type { JsonRpcId, Message } from "../jsonrpc/message.ts";

export type Front = "stdio" | "http";

export class Session {
  protocolVersion: string | null = null;
  clientInfo: Record<string, unknown> = {};
  clientCapabilities: Record<string, unknown> = {};
  initialized = false;
  closed = false;
  lastSeen = Date.now();
  /** Client request id -> its cancel switch, for notifications/cancelled and disconnects. */
  readonly inflight = new Map<JsonRpcId, AbortController>();

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
    this.inflight.get(id)?.abort(reason);
  }

  close(reason = "session closed"): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.inflight.values()) c.abort(reason);
    this.inflight.clear();
  }
}
