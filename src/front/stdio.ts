// The stdio front, which Claude Code launches: newline-delimited JSON-RPC on
// stdin/stdout, one session for the life of the process. stdout carries only
// JSON-RPC; requests run concurrently and their answers go out as they finish.

import type { Principal } from "../auth/principal.ts";
import { InvalidRequest, LimitExceeded, MessageTooLarge } from "../errors.ts";
import type { Gateway } from "../gateway.ts";
import { EDGE, LineDecoder } from "../jsonrpc/lines.ts";
import {
  describeUnanswered,
  idFromEdges,
  idOf,
  isNotification,
  isRequest,
  owesAnswer,
  toMessage,
  type Message,
  type Response,
} from "../jsonrpc/message.ts";
import { checkShape, limitExceeded, parseWithin } from "../jsonrpc/shape.ts";
import { toWire, type WirePieces } from "../jsonrpc/wire.ts";
import { logger } from "../log.ts";
import { StdioModern } from "./stdio-modern.ts";

const log = logger("stdio");

export type StdioIo = {
  input: ReadableStream<Uint8Array>;
  /** One message's line: its text, or its pieces when it relays a large result as bytes (wire.ts). */
  write: (line: string | WirePieces) => void;
};

export function processIo(): StdioIo {
  // A FileSink: one write(2) per message, without Node stream machinery.
  const out = Bun.stdout.writer();
  // A large line is written at the pace the client reads it, each piece once the
  // last has left: written at once, the sink would copy it all (measured: a
  // 25 MB line raised RSS by 59 MB, paced by 3 MB). Lines sent meanwhile wait.
  const waiting: (string | WirePieces)[] = [];
  let pacing = false;
  const paced = async (pieces: WirePieces) => {
    pacing = true;
    try {
      for (let line: string | WirePieces | undefined = pieces; line !== undefined; line = waiting.shift()) {
        for (const piece of typeof line === "string" ? [line] : line) {
          out.write(piece);
          const flushed = out.flush();
          if (flushed instanceof Promise) await flushed;
        }
      }
    } catch {
      // The client has gone; stdin's end will shut the gateway down.
    } finally {
      pacing = false;
    }
  };
  return {
    input: Bun.stdin.stream(),
    write(line) {
      if (pacing) return void waiting.push(line);
      if (typeof line !== "string") return void paced(line);
      try {
        out.write(line);
        out.flush();
      } catch {
        // As above.
      }
    },
  };
}

/** Serves until stdin ends, then returns (the caller shuts the gateway down). */
export async function serveStdio(gateway: Gateway, identity: Principal, io: StdioIo, view: string | null = null): Promise<void> {
  const send = (m: Message | Response[]) => {
    const wire = toWire(m);
    io.write(typeof wire === "string" ? wire + "\n" : [...wire, "\n"]);
  };
  const session = gateway.openSession("stdio", "stdio", identity, send, view);
  const { pipeline } = gateway;
  const modern = gateway.config.modern.enabled ? new StdioModern(gateway, session, send) : null;
  // Read per message: a reload may change them (the line cap, messageBytes, applies from the next start).
  const limits = () => gateway.config.limits.client;
  const max = limits().messageBytes;

  /** A message that cannot be accepted: audited, and answered only if JSON-RPC owes it an answer. */
  const refuse = (value: unknown, err: unknown, owed = owesAnswer(value)): Response | null => {
    const answer = pipeline.rejected(session, "stdio", idOf(value), err);
    if (owed) return answer;
    const what = Array.isArray(value) ? `batch of ${value.length} notifications and responses` : describeUnanswered(value as object);
    log.warn(`dropped a ${what}, unanswered: ${(err as Error).message}`);
    return null;
  };

  const handle = (value: unknown): Promise<Response | null> | Response | null => {
    let message: Message;
    try {
      checkShape(value, limits(), "client");
      message = toMessage(value);
    } catch (err) {
      return refuse(value, err);
    }
    session.lastSeen = Date.now();
    if (isRequest(message)) return modern?.takes(message) ? modern.request(message) : pipeline.request(session, message);
    if (isNotification(message)) {
      if (!modern?.notification(message)) pipeline.notification(session, message);
    } else pipeline.response(session, message);
    return null;
  };

  const decoder = new LineDecoder(max, {
    line(text) {
      let value: unknown;
      try {
        value = parseWithin(text, limits(), "client");
      } catch (err) {
        // Unparsed, so what it was is unknown: answered as JSON-RPC answers a
        // parse error, under the id its edges show if it was only too deep.
        const id = err instanceof LimitExceeded ? idFromEdges(text.slice(0, EDGE), text.slice(-EDGE)) : null;
        send(pipeline.rejected(session, "stdio", id, err));
        return;
      }
      if (!Array.isArray(value)) {
        const out = handle(value);
        if (out instanceof Promise) void out.then((r) => r && send(r));
        else if (out) send(out);
        return;
      }
      // JSON-RPC batches (MCP 2025-03-26): answer with one array of the responses.
      if (value.length === 0) {
        send(pipeline.rejected(session, "stdio", null, new InvalidRequest("Invalid Request: empty batch")));
        return;
      }
      if (value.length > limits().arrayItems) {
        const out = refuse(value, limitExceeded("arrayItems", limits(), "client"), value.some(owesAnswer));
        if (out) send(out);
        return;
      }
      void Promise.all(value.map(handle)).then((outs) => {
        const responses = outs.filter((o): o is Response => o !== null);
        if (responses.length > 0) send(responses);
      });
    },
    oversized(_bytes, head, tail) {
      // With the request's id, the client can match the error to its call instead of waiting.
      send(pipeline.rejected(session, "stdio", idFromEdges(head, tail), new MessageTooLarge(max)));
    },
  });

  for await (const chunk of io.input) decoder.push(chunk);
  decoder.end();
  modern?.close();
  gateway.closeSession(session, "stdin closed");
}
