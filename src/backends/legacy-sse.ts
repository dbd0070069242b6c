// A backend on the deprecated HTTP+SSE transport (MCP 2024-11-05): one GET
// stream carries every server message; the first event names the URL to POST to.

import type { RemoteBackendConfig, JsonLimits } from "../config/load.ts";
import { BackendUnavailable } from "../errors.ts";
import { failure, isRequest, type Message } from "../jsonrpc/message.ts";
import { logger, type Logger } from "../log.ts";
import { Intake } from "./intake.ts";
import { RAW_FROM } from "../jsonrpc/raw-result.ts";
import { readSse, type SseEvent } from "./sse-parser.ts";
import type { Transport } from "./transport.ts";

export class LegacySseTransport implements Transport {
  onmessage: (message: Message) => void = () => {};
  onclose: (reason: string) => void = () => {};
  private endpoint: string | null = null;
  private readonly aborter = new AbortController();
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly cfg: RemoteBackendConfig,
    private readonly limits: JsonLimits,
  ) {
    this.log = logger(cfg.name);
  }

  async start(): Promise<void> {
    const res = await fetch(this.cfg.url, {
      headers: { ...this.cfg.headers, accept: "text/event-stream" },
      signal: this.aborter.signal,
    });
    if (!res.ok || !res.body) throw new BackendUnavailable(`Backend ${this.cfg.name} answered HTTP ${res.status} to its event stream`);
    const { promise: gotEndpoint, resolve, reject } = Promise.withResolvers<void>();
    const intake = new Intake(this.cfg.name, this.limits, this.log, (m) => this.onmessage(m), (m) => this.send(m));
    const onEvent = (e: SseEvent) => {
      if (e.event === "endpoint") {
        this.endpoint = new URL(e.data, this.cfg.url).href;
        resolve();
      } else if (e.event === "message") {
        intake.event(e);
      }
    };
    // One stream carries every answer: an oversized one ends it, and the backend reconnects.
    readSse(res.body, onEvent, undefined, this.limits.messageBytes, RAW_FROM)
      .catch((err) => this.log.warn(`event stream: ${(err as Error).message}`))
      .finally(() => {
        reject(new BackendUnavailable(`Backend ${this.cfg.name}: stream ended before naming its endpoint`));
        this.lose(`backend ${this.cfg.name} closed its event stream`);
      });
    await gotEndpoint;
  }

  send(message: Message): void {
    void this.post(message);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.aborter.abort();
  }

  private async post(message: Message): Promise<void> {
    if (this.closed || !this.endpoint) return;
    try {
      const res = await fetch(this.endpoint, {
        method: "POST",
        headers: { ...this.cfg.headers, "content-type": "application/json" },
        body: JSON.stringify(message),
        signal: this.aborter.signal,
      });
      await res.body?.cancel();
      if (!res.ok && isRequest(message)) {
        this.onmessage(failure(message.id, { code: -32000, message: `Backend ${this.cfg.name} answered HTTP ${res.status}` }));
      }
    } catch (err) {
      if (this.closed) return;
      this.log.warn(`cannot reach ${this.endpoint}: ${(err as Error).message}`);
      if (isRequest(message)) this.onmessage(failure(message.id, { code: -32000, message: `Backend ${this.cfg.name} is unreachable` }));
      this.lose(`backend ${this.cfg.name} is unreachable`);
    }
  }

  private lose(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.aborter.abort();
    this.onclose(reason);
  }
}
