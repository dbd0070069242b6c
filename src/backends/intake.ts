// What a backend sends, checked once where it enters (limits.backend, then the
// JSON-RPC shape) before anything acts on it; the same for every transport. A
// refused message is logged and, so that no one waits for an answer that is
// not coming, turned into one: the call it answered fails at once (-32000), and
// a request of the backend's own gets -32600. The backend keeps serving.

import type { JsonLimits } from "../config/load.ts";
import { LimitExceeded } from "../errors.ts";
import { EDGE } from "../jsonrpc/lines.ts";
import { failure, idFromEdges, idOf, owesAnswer, toMessage, type JsonRpcId, type Message } from "../jsonrpc/message.ts";
import { joinBytes } from "../jsonrpc/bytes.ts";
import { RAW_FROM, scanResponse } from "../jsonrpc/raw-result.ts";
import { checkShape, limitExceeded, parseWithin } from "../jsonrpc/shape.ts";
import type { Logger } from "../log.ts";
import type { SseEvent } from "./sse-parser.ts";

const decoder = new TextDecoder();

export class Intake {
  constructor(
    private readonly backend: string,
    private readonly limits: JsonLimits,
    private readonly log: Logger,
    /** To the peer: a message, or the error that fails the call a refused answer was for. */
    private readonly deliver: (message: Message, relatedTo?: JsonRpcId) => void,
    /** To the backend: the error answering a refused request of its own. */
    private readonly reply: (message: Message) => void,
  ) {}

  /**
   * One text: a line, a JSON body or an SSE event's data, holding a message or a
   * batch. `relatedTo`: our request whose answer it carries, where the transport
   * knows (Streamable HTTP); a text that cannot be read fails that request.
   */
  text(text: string, relatedTo?: JsonRpcId): void {
    let value: unknown;
    try {
      value = parseWithin(text, this.limits, "backend");
    } catch (err) {
      if (err instanceof LimitExceeded) {
        // Too deep to parse: only its edges, or the stream it came on, can tell which call it answered.
        this.refuse("response", idFromEdges(text.slice(0, EDGE), text.slice(-EDGE)) ?? relatedTo ?? null, err, relatedTo);
        return;
      }
      this.log.warn(`ignored a message that is not JSON: ${text.slice(0, 200)}`);
      if (relatedTo !== undefined) this.deliver(failure(relatedTo, { code: -32000, message: `Backend ${this.backend}'s answer is not JSON` }), relatedTo);
      return;
    }
    if (!Array.isArray(value)) return this.value(value, relatedTo);
    if (value.length > this.limits.arrayItems) {
      this.log.warn(`dropped a batch of ${value.length} messages: ${limitExceeded("arrayItems", this.limits, "backend").detail}`);
      return;
    }
    for (const item of value) this.value(item, relatedTo);
  }

  /**
   * One message's bytes. A large response is scanned, not parsed, and its
   * result relayed as the bytes it came in (raw-result.ts); anything else is
   * read as text.
   */
  bytes(parts: Uint8Array[], size: number, relatedTo?: JsonRpcId): void {
    if (size >= RAW_FROM) {
      let message: Message | null;
      try {
        message = scanResponse(parts, this.limits, "backend");
      } catch (err) {
        const head = decoder.decode(parts[0]!.subarray(0, EDGE));
        const last = parts[parts.length - 1]!;
        const tail = decoder.decode(last.subarray(Math.max(0, last.length - EDGE)));
        this.refuse("response", idFromEdges(head, tail) ?? relatedTo ?? null, err as Error, relatedTo);
        return;
      }
      if (message) return this.deliver(message, relatedTo);
    }
    this.text(decoder.decode(joinBytes(parts, size)), relatedTo);
  }

  /** An SSE message event's data, as text or (a large one) as bytes. */
  event(e: SseEvent, relatedTo?: JsonRpcId): void {
    if (e.raw) this.bytes(e.raw.parts, e.raw.size, relatedTo);
    else if (e.data) this.text(e.data, relatedTo);
  }

  private value(value: unknown, relatedTo: JsonRpcId | undefined): void {
    let message: Message;
    try {
      checkShape(value, this.limits, "backend");
      message = toMessage(value);
    } catch (err) {
      const kind = typeof value === "object" && value !== null && "method" in value ? (owesAnswer(value) ? "request" : "notification") : "response";
      this.refuse(kind, idOf(value), err as Error, relatedTo);
      return;
    }
    this.deliver(message, relatedTo);
  }

  private refuse(kind: "request" | "notification" | "response", id: JsonRpcId | null, err: Error, relatedTo: JsonRpcId | undefined): void {
    const why = err instanceof LimitExceeded ? err.detail : `is not JSON-RPC (${err.message})`;
    this.log.warn(`refused a ${kind} from the backend: it ${why}`);
    if (kind === "request") this.reply(failure(id, { code: -32600, message: err.message }));
    // A notification is owed nothing; a response with an id fails the call it answered.
    else if (kind === "response" && id !== null) this.deliver(failure(id, { code: -32000, message: `Backend ${this.backend}'s answer ${why}` }), relatedTo);
  }
}
