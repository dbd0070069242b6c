// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent`
// a caller sends and the one Sentinel sends on, and where each travels. In MCP
// it rides in params._meta (the keys `traceparent`, `tracestate` and `baggage`
// are reserved there), and over HTTP also in the headers of the same names.
// Small and free of dependencies: the fronts and backends import it whether or
// not tracing is configured; the tracer itself (tracing.ts) is loaded only then.

import type { Message, Params } from "../jsonrpc/message.ts";

export type TraceParent = { traceId: string; spanId: string; sampled: boolean };

// version 00 has exactly these four fields; a later version may append more after a dash.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/** A traceparent as the spec reads it; null when absent or malformed (then the trace starts here). */
export function parseTraceparent(value: unknown): TraceParent | null {
  if (typeof value !== "string" || value.length > 512) return null;
  const m = TRACEPARENT.exec(value);
  if (!m) return null;
  const [, version, traceId, spanId, flags] = m as unknown as [string, string, string, string, string];
  if (version === "ff" || (version === "00" && value.length !== 55)) return null;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return null;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}

// Random bytes are drawn in blocks and turned into hex once: one getRandomValues
// call and one hex string per id cost more than the rest of a span (measured).
const pool = new Uint8Array(1024);
let hex = "";
let used = pool.length;

function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    crypto.getRandomValues(pool);
    hex = Buffer.from(pool.buffer).toString("hex");
    used = 0;
  }
  const out = hex.slice(used * 2, (used += bytes) * 2);
  // All zeros is invalid; with 2^-64 odds, try again.
  return out === ZERO_SPAN || out === ZERO_TRACE ? randomHex(bytes) : out;
}

export const randomTraceId = (): string => randomHex(16);
export const randomSpanId = (): string => randomHex(8);

/**
 * The HTTP front: a client's `traceparent` (and `tracestate`) header is the
 * request's trace context unless its _meta already carries one, which is
 * more precise (the header is for the whole POST).
 */
export function headerIntoMeta(message: Message, headers: Headers): void {
  if (!("method" in message)) return;
  const traceparent = headers.get("traceparent");
  if (traceparent === null) return;
  const params: Params = (message.params ??= {});
  const meta = (params._meta ??= {}) as Record<string, unknown>;
  if (typeof meta !== "object" || meta === null || meta.traceparent !== undefined) return;
  meta.traceparent = traceparent;
  const tracestate = headers.get("tracestate");
  if (tracestate !== null && meta.tracestate === undefined) meta.tracestate = tracestate;
}

/** The backend side over HTTP: a request's trace context in _meta also goes as the headers of the same names. */
export function traceHeaders(message: Message, headers: Record<string, string>): Record<string, string> {
  const meta = "method" in message ? (message.params?._meta as Record<string, unknown> | undefined) : undefined;
  if (typeof meta?.traceparent !== "string") return headers;
  headers.traceparent = meta.traceparent;
  if (typeof meta.tracestate === "string") headers.tracestate = meta.tracestate;
  return headers;
}
