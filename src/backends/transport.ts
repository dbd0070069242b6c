// What every backend connector provides, so that nothing above it branches on
// stdio vs. HTTP vs. SSE. Messages in both directions are parsed objects.

import type { Message } from "../jsonrpc/message.ts";

export interface Transport {
  /** Spawns or connects; rejects when the backend cannot be reached at all. */
  start(): Promise<void>;
  send(message: Message): void;
  close(): Promise<void>;
  /** Tells the HTTP transport which protocol version the session negotiated. */
  setProtocolVersion?(version: string): void;
  onmessage: (message: Message) => void;
  /** Called once when the connection is gone for good (exit, stream end, session expiry). */
  onclose: (reason: string) => void;
}
