// A server-sent-events response body that messages can be pushed into, with a
// periodic comment so that proxies and clients keep an idle stream open.

import type { Message } from "../jsonrpc/message.ts";
import { toWire } from "../jsonrpc/wire.ts";

const KEEPALIVE_MS = 25_000;
const encoder = new TextEncoder();

export class EventStream {
  readonly readable: ReadableStream<Uint8Array>;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private nextId = 1;
  private keepalive: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly onClose: () => void) {
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.controller = controller;
        // An initial comment flushes the headers to the client at once.
        controller.enqueue(encoder.encode(": stream open\n\n"));
        this.keepalive = setInterval(() => this.write(": keepalive\n\n"), KEEPALIVE_MS);
      },
      cancel: () => this.finish(),
    });
  }

  /** Writes one event; `id` is given by callers that keep a replay log (the GET stream). */
  send(message: Message | string, id: string | number = this.nextId++): void {
    const data = typeof message === "string" ? message : toWire(message);
    if (typeof data === "string") return this.write(`id: ${id}\nevent: message\ndata: ${data}\n\n`);
    // A result relayed as bytes: its pieces go out as they are (JSON has no raw newlines to escape).
    this.write(`id: ${id}\nevent: message\ndata: `);
    for (const piece of data) this.write(piece);
    this.write("\n\n");
  }

  close(): void {
    try {
      this.controller?.close();
    } catch {}
    this.finish();
  }

  private write(text: string | Uint8Array): void {
    try {
      this.controller?.enqueue(typeof text === "string" ? encoder.encode(text) : text);
    } catch {
      this.finish();
    }
  }

  private finish(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = null;
    if (this.controller) {
      this.controller = null;
      this.onClose();
    }
  }
}
