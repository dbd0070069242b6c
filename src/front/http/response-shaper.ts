// The answer to one POST that carries requests: JSON when nothing else needs
// saying, else an SSE stream; a batch always in JSON. What the pipeline answers
// is JSON-RPC; the HTTP status comes from the error class behind it (errors.ts).

import type { Principal } from "../../auth/principal.ts";
import { httpRefusalOf } from "../../errors.ts";
import type { Message, Request as RpcRequest } from "../../jsonrpc/message.ts";
import { toWire } from "../../jsonrpc/wire.ts";
import { EventStream } from "../event-stream.ts";
import type { FrontPipeline, FrontSession } from "./gateway-api.ts";

export const JSON_HEADERS: Record<string, string> = { "content-type": "application/json" };
/**
 * The same, built once: a Response copies a Headers it is given (~0.13 µs less
 * per answer than building one from an object each time, Bun 1.4.5).
 */
export const JSON_HEADER_LIST = new Headers(JSON_HEADERS);
export const SSE_HEADERS: Record<string, string> = { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" };

/**
 * One request's answer: JSON when nothing else needs saying, else an SSE
 * stream, opened at the first message that belongs to the request (progress,
 * a server-to-client request) and closed after the response. The fast path
 * stays JSON; clients that do not accept SSE get related messages on GET.
 * `created` is the id of the session this request (initialize) opened.
 */
export function answerOne<S extends FrontSession>(
  pipeline: FrontPipeline<S>,
  session: S,
  identity: Principal,
  request: RpcRequest,
  sse: boolean,
  created: string | null,
): Promise<Response> {
  return new Promise((resolve) => {
    let stream: EventStream | null = null;
    const relate = sse
      ? (m: Message) => {
          if (!stream) {
            stream = new EventStream(() => {});
            resolve(new Response(stream.readable, { headers: created ? { ...SSE_HEADERS, "mcp-session-id": created } : SSE_HEADERS }));
          }
          stream.send(m);
        }
      : undefined;
    void pipeline.request(session, request, relate, identity).then((response) => {
      if (stream) {
        if (response) stream.send(response);
        stream.close();
        return;
      }
      // Cancelled by the client: nothing is owed, and nothing is sent.
      if (!response) return resolve(new Response(null, { status: 204 }));
      // A request refused as a whole (for its rate) says so in HTTP too: 429 with Retry-After.
      const refusal = "error" in response ? httpRefusalOf(response.error) : null;
      const headers =
        created || refusal ? { ...JSON_HEADERS, ...(created && { "mcp-session-id": created }), ...refusal?.httpHeaders } : JSON_HEADER_LIST;
      resolve(new Response(wireBody(response), { status: refusal?.httpStatus ?? 200, headers }));
    });
  });
}

/** A batch's answers in one JSON array; 202 when every request in it was cancelled. */
export async function answerBatch<S extends FrontSession>(
  pipeline: FrontPipeline<S>,
  session: S,
  identity: Principal,
  requests: RpcRequest[],
): Promise<Response> {
  const out = (await Promise.all(requests.map((r) => pipeline.request(session, r, undefined, identity)))).filter((r) => r !== null);
  return out.length ? new Response(wireBody(out), { headers: JSON_HEADER_LIST }) : new Response(null, { status: 202 });
}

/** A JSON body: text, or a stream of the pieces of a large result relayed as bytes (not joined: wire.ts). */
export function wireBody(m: Message | Message[]): string | ReadableStream<Uint8Array> {
  const wire = toWire(m);
  if (typeof wire === "string") return wire;
  const encoder = new TextEncoder();
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i === wire.length) return controller.close();
      const piece = wire[i++]!;
      controller.enqueue(typeof piece === "string" ? encoder.encode(piece) : piece);
    },
  });
}
