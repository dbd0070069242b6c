// What every backend connector provides, so that nothing above it branches on
// stdio vs. HTTP vs. SSE. Messages in both directions are parsed objects.

import type { JsonRpcId, Message } from "../jsonrpc/message.ts";

export interface Transport {
  /** Spawns or connects; rejects when the backend cannot be reached at all. */
  start(): Promise<void>;
  send(message: Message): void;
  close(): Promise<void>;
  /**
   * Stops the backend's work on a request where the transport itself is the
   * way to (modern HTTP: its POST is closed); false: send notifications/cancelled.
   */
  cancel?(id: JsonRpcId): boolean;
  /** Tells the HTTP transport which protocol version the session negotiated. */
  setProtocolVersion?(version: string): void;
  /**
   * A message from the backend; `relatedTo` is the id of our request whose
   * response stream carried it, where the transport can tell (Streamable HTTP).
   */
  onmessage: (message: Message, relatedTo?: JsonRpcId) => void;
  /** Called once when the connection is gone for good (exit, stream end, session expiry). */
  onclose: (reason: string) => void;
}
