// What a caller hands a backend request besides the method and params, in the
// manner of the SDK's request options: a way to cancel it, and where the
// messages that belong to it go (progress, the backend's own requests and
// notifications during the call). Backends know nothing of client sessions:
// `origin` is an opaque tag, compared only to tell whether the calls in flight
// on a shared connection all come from one caller (reverse-routing.ts).

import type { Notification, Params, Request } from "../jsonrpc/message.ts";

export type Result = Record<string, unknown>;

/**
 * Cancellation for one request. Lighter than an AbortController, which costs
 * ~0.6 µs a call with its listener (measured, Bun 1.4) on the hottest path.
 */
export class CancelSignal {
  reason: string | null = null;
  private listener: ((reason: string) => void) | null = null;

  get cancelled(): boolean {
    return this.reason !== null;
  }

  /** Whoever carries the request further says how to stop it there (one listener). */
  onCancel(listener: ((reason: string) => void) | null): void {
    this.listener = listener;
  }

  /** The caller withdrew the request: its work is stopped and no answer is due. */
  cancel(reason: string): void {
    if (this.reason !== null) return;
    this.reason = reason;
    this.stop(reason);
  }

  /** Its work is stopped (the session closes, say); the request still ends in an answer, an error. */
  stop(reason: string): void {
    const listener = this.listener;
    this.listener = null;
    listener?.(reason);
  }
}

export type RequestOptions = {
  cancel?: CancelSignal;
  /** Progress the backend reports for this request (params with the caller's own token restored). */
  onProgress?: (params: Params) => void;
  /** A notification the backend sent as part of this request (a log line, say). */
  onNotification?: (n: Notification) => void;
  /** A request the backend sent as part of this one (sampling, elicitation, roots). */
  onRequest?: (r: Request, cancel: CancelSignal) => Promise<Result>;
  /** The caller's progress token, if it asked for progress. */
  progressToken?: string | number;
  /** Who the request is for; opaque here. */
  origin?: unknown;
  /** A large result may be relayed as bytes (raw-result.ts): the caller only passes it on. */
  relay?: boolean;
  /**
   * What the caller declared it can do (its initialize, or this request's
   * _meta): a modern backend is told this, intersected with what Sentinel relays.
   */
  clientCapabilities?: Record<string, unknown>;
  /** The log level the caller wants for this request; absent: no log messages for it. */
  logLevel?: string;
  /**
   * The caller speaks 2026-07-28 and answers input_required itself: a modern
   * backend's input_required result is returned as it is. Otherwise its input
   * requests are asked through onRequest and the call retried with the answers.
   */
  takesInputRequired?: boolean;
  /** W3C trace context for the backend's request (its _meta, and the HTTP header): the caller's span at this backend. */
  traceparent?: string;
  tracestate?: string;
};
