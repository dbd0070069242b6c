// A large result passed on as the bytes its backend sent. Parsing a 20 MiB
// tools/call result, and serialising it again for the client, held ~14x its size
// in memory at the peak (measured: scripts/large-result.ts); relayed as bytes
// it is held once. The scanner (scan.ts) has checked its syntax and shape, and
// found its place in the message and its isError; nothing between the backend
// and the front needs more of a relayed result than that.

import type { JsonLimits } from "../config/load.ts";
import { joinBytes } from "./bytes.ts";
import { scanMessage, type Span } from "./scan.ts";
import type { Scope } from "./shape.ts";
import { isId, type Message } from "./message.ts";

/** Messages at least this large are scanned and relayed as bytes instead of parsed. */
export const RAW_FROM = 1024 * 1024;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class RawResult {
  constructor(
    private readonly parts: Uint8Array[],
    private readonly span: Span,
    /** What the pipeline reads of a result: a tool result that reports failure. */
    readonly isError: boolean,
    /** It says what it is (resultType), as a 2026-07-28 server's result does. */
    readonly hasResultType = false,
    /** Members written before the result's own, after its "{" (see complete()). */
    private readonly lead: Uint8Array | null = null,
  ) {}

  get byteLength(): number {
    return this.span.end - this.span.start + (this.lead ? this.lead.length - 1 : 0);
  }

  /** The result's bytes, as views into the parts it arrived in (no copy). */
  bytes(): Uint8Array[] {
    if (!this.lead) return slice(this.parts, this.span);
    return [this.lead, ...slice(this.parts, { start: this.span.start + 1, end: this.span.end })];
  }

  /**
   * The same result saying resultType "complete", for a 2026-07-28 client of a
   * 2025 backend; still the bytes it came in, but for one member written before them.
   * A result is an object with members (it is this large), so one comma follows.
   */
  complete(): RawResult {
    if (this.hasResultType || slice(this.parts, { start: this.span.start, end: this.span.start + 1 })[0]?.[0] !== 0x7b) return this;
    return new RawResult(this.parts, this.span, this.isError, true, encoder.encode('{"resultType":"complete",'));
  }

  /** The result as a value, for the few callers that read results (Sentinel's own requests). */
  parse(): Record<string, unknown> {
    return JSON.parse(decoder.decode(joinBytes(this.bytes(), this.byteLength))) as Record<string, unknown>;
  }
}

/**
 * A large message from a backend, scanned instead of parsed: a response whose
 * result is a RawResult. null when it is something else (a request, an error,
 * a batch), which the caller parses as usual. Throws ParseError or LimitExceeded.
 */
export function scanResponse(parts: Uint8Array[], limits: JsonLimits, scope: Scope): Message | null {
  const skeleton = scanMessage(parts, limits, scope);
  if (!skeleton) return null;
  const { members } = skeleton;
  const result = members.get("result");
  const idSpan = members.get("id");
  // Pretty-printed JSON is parsed instead: its line breaks would end a stdio line or an SSE field.
  if (!result || !idSpan || members.has("method") || members.has("error") || skeleton.lineBreaks) return null;
  const id = small(parts, idSpan);
  const version = members.get("jsonrpc");
  if (!isId(id) || !version || small(parts, version) !== "2.0") return null;
  const raw = new RawResult(parts, result, skeleton.isError, skeleton.resultType);
  return { jsonrpc: "2.0", id, result: raw as unknown as Record<string, unknown> };
}

/** A short member's value (an id, the version), parsed. */
function small(parts: Uint8Array[], span: Span): unknown {
  if (span.end - span.start > 1024) return undefined;
  return JSON.parse(decoder.decode(joinBytes(slice(parts, span), span.end - span.start)));
}

function slice(parts: Uint8Array[], span: Span): Uint8Array[] {
  const out: Uint8Array[] = [];
  let base = 0;
  for (const p of parts) {
    const from = Math.max(span.start - base, 0);
    const to = Math.min(span.end - base, p.length);
    if (from < to) out.push(from === 0 && to === p.length ? p : p.subarray(from, to));
    base += p.length;
    if (base >= span.end) break;
  }
  return out;
}

