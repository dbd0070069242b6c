// A POST body read and checked against the client limits once, at the edge:
// bounded in bytes as it streams, parsed, and each message's shape checked.

import type { JsonLimits } from "../../config/load.ts";
import { InvalidRequest, LimitExceeded, type SentinelError } from "../../errors.ts";
import { readBody } from "../../jsonrpc/body.ts";
import { EDGE } from "../../jsonrpc/lines.ts";
import { describeUnanswered, idFromEdges, idOf, owesAnswer, toMessage, type Message } from "../../jsonrpc/message.ts";
import { checkShape, limitExceeded, parseWithin } from "../../jsonrpc/shape.ts";
import type { Refusals } from "./refusals.ts";

/** The body's text, or null when it exceeds `max` bytes. */
export function postBody(req: Request, max: number): Promise<string | null> {
  const length = req.headers.get("content-length");
  if (Number(length ?? 0) > max) return Promise.resolve(null);
  // With a declared length Bun enforces it; only a chunked body needs counting as it streams.
  return length !== null ? req.text() : readBody(req.body, max);
}

export type Posted = {
  batch: boolean;
  messages: Message[];
  /** Why notifications or responses in the body were refused, if some were: owed no answer, they leave the POST a bare error status. */
  refusal: SentinelError | null;
};

/** The messages a POST body holds; a Response when the POST is answered already (the body, or all it held, refused). */
export function parsePosted(text: string, limits: JsonLimits, { reject, unanswered }: Refusals): Posted | Response {
  let value: unknown;
  try {
    value = parseWithin(text, limits, "client");
  } catch (err) {
    // Unparsed: answered as JSON-RPC answers a parse error, under the id its edges show if it was only too deep.
    return reject(err as SentinelError, err instanceof LimitExceeded ? idFromEdges(text.slice(0, EDGE), text.slice(-EDGE)) : null);
  }
  const batch = Array.isArray(value);
  const items = batch ? (value as unknown[]) : [value];
  if (items.length === 0) return reject(new InvalidRequest("Invalid Request: empty batch"));
  if (items.length > limits.arrayItems) {
    const err = limitExceeded("arrayItems", limits, "client");
    if (items.some(owesAnswer)) return reject(err);
    unanswered(`batch of ${items.length} notifications and responses`, null, err);
    return new Response(null, { status: err.httpStatus });
  }
  const messages: Message[] = [];
  let refusal: SentinelError | null = null;
  for (const item of items) {
    try {
      checkShape(item, limits, "client");
      messages.push(toMessage(item));
    } catch (err) {
      if (owesAnswer(item)) return reject(err as SentinelError, idOf(item));
      unanswered(describeUnanswered(item as object), idOf(item), err as SentinelError);
      refusal ??= err as SentinelError;
    }
  }
  if (refusal && messages.length === 0) return new Response(null, { status: refusal.httpStatus });
  return { batch, messages, refusal };
}
