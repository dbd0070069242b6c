// A backend reached over Streamable HTTP (MCP 2025-03-26 and later): each
// message is a POST whose answer comes back as JSON or as an SSE stream.
// The backend's session id stays here; clients never see it.

import type { RemoteBackendConfig, JsonLimits } from "../config/load.ts";
import { failure, isRequest, isResponse, type JsonRpcId, type Message } from "../jsonrpc/message.ts";
import { logger, type Logger } from "../log.ts";
import { readBodyBytes } from "../jsonrpc/body.ts";
import { RAW_FROM } from "../jsonrpc/raw-result.ts";
import { Intake } from "./intake.ts";
import { EventTooLarge, readSse, type SseEvent } from "./sse-parser.ts";
import type { Transport } from "./transport.ts";
import { traceHeaders } from "../ops/trace-context.ts";
import { post, type BackendResponse, type BodyChunks } from "./http1.ts";

// How many times a request's dropped answer stream is resumed before giving up
// (the request's own timeout still applies).
const MAX_RESUMES = 10;

export class StreamableHttpTransport implements Transport {
  onmessage: (message: Message, relatedTo?: JsonRpcId) => void = () => {};
  onclose: (reason: string) => void = () => {};
  private sessionId: string | null = null;
  private protocolVersion: string | null = null;
  private readonly aborter = new AbortController();
  private closed = false;
  private readonly log: Logger;
  private readonly intake: Intake;

  constructor(
    private readonly cfg: RemoteBackendConfig,
    private readonly limits: JsonLimits,
  ) {
    this.log = logger(cfg.name);
    this.intake = this.intakeFor((m, relatedTo) => this.onmessage(m, relatedTo));
  }

  private intakeFor(deliver: (m: Message, relatedTo?: JsonRpcId) => void): Intake {
    return new Intake(this.cfg.name, this.limits, this.log, deliver, (m) => this.send(m));
  }

  async start(): Promise<void> {}

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
    // Initialized: open the stream for messages the backend sends on its own.
    void this.listen();
  }

  /** The GET stream (optional for servers: 405 means they have none). Reopened if it drops. */
  private async listen(lastEventId?: string): Promise<void> {
    while (!this.closed) {
      let res: Response;
      try {
        const headers = this.headers();
        delete headers["content-type"];
        headers.accept = "text/event-stream";
        if (lastEventId) headers["last-event-id"] = lastEventId;
        res = await fetch(this.cfg.url, { headers, signal: this.aborter.signal });
      } catch {
        return; // unreachable: the next POST notices and reconnects the backend
      }
      if (!res.ok || !res.body) {
        await res.body?.cancel();
        return;
      }
      await readSse(
        res.body,
        (e) => {
          if (e.id) lastEventId = e.id;
          if (e.event === "message") this.intake.event(e);
        },
        undefined,
        this.limits.messageBytes,
        RAW_FROM,
      ).catch((err) => this.log.warn(`event stream: ${(err as Error).message}`));
      await Bun.sleep(500);
    }
  }

  send(message: Message): void {
    void this.post(message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.aborter.abort();
    if (this.sessionId) {
      // Best effort: tell the backend it may free the session.
      await fetch(this.cfg.url, { method: "DELETE", headers: this.headers(), signal: AbortSignal.timeout(1000) }).catch(() => {});
    }
  }

  private headers(): Record<string, string> {
    const h: Record<string, string> = {
      ...this.cfg.headers,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    };
    if (this.sessionId) h["mcp-session-id"] = this.sessionId;
    if (this.protocolVersion) h["mcp-protocol-version"] = this.protocolVersion;
    return h;
  }

  private async post(message: Message): Promise<void> {
    if (this.closed) return;
    let res: BackendResponse;
    try {
      res = await post(this.cfg.url, { headers: traceHeaders(message, this.headers()), body: JSON.stringify(message), signal: this.aborter.signal });
    } catch (err) {
      if (this.closed) return;
      // Where it failed and why is for the log; the client knows the backend by name only.
      this.log.warn(`cannot reach ${this.cfg.url}: ${(err as Error).message}`);
      this.reject(message, `Backend ${this.cfg.name} is unreachable`);
      this.lose(`backend ${this.cfg.name} is unreachable`);
      return;
    }
    const sid = res.headers.get("mcp-session-id");
    if (sid) this.sessionId = sid;
    if (res.status === 404 && this.sessionId) {
      this.reject(message, "backend session expired");
      this.lose(`backend ${this.cfg.name} ended its session`);
      return;
    }
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      if (text) this.log.warn(`HTTP ${res.status}: ${text.slice(0, 500)}`);
      this.reject(message, `Backend ${this.cfg.name} answered HTTP ${res.status}`);
      return;
    }
    const type = res.headers.get("content-type") ?? "";
    // What arrives on a request's own response stream belongs to that request.
    const relatedTo = isRequest(message) ? message.id : undefined;
    try {
      if (type.includes("text/event-stream") && res.body) {
        await this.readAnswerStream(res.body, relatedTo);
      } else if (type.includes("application/json")) {
        const read = await readBodyBytes(res.body, this.limits.messageBytes);
        if (read === null) throw new EventTooLarge(this.limits.messageBytes);
        this.intake.bytes(read.parts, read.size, relatedTo);
      } else {
        await res.body?.cancel();
      }
    } catch (err) {
      if (this.closed) return;
      const why = err instanceof EventTooLarge ? `answer over the ${err.limit}-byte limit (limits.backend.messageBytes)` : (err as Error).message;
      this.reject(message, `bad response from backend ${this.cfg.name}: ${why}`);
    }
  }

  /**
   * Reads a request's SSE answer. A server may close the stream before the
   * response (2025-11-25 "polling"): then it is resumed with GET and
   * Last-Event-ID after the server's `retry` delay, until the response comes.
   */
  private async readAnswerStream(body: BodyChunks, relatedTo: JsonRpcId | undefined): Promise<void> {
    let answered = false;
    let lastEventId: string | undefined;
    let retryMs = 1000;
    // Watches for the answer (or the error that stands for it), which ends resumption.
    const intake = this.intakeFor((m, related) => {
      if (relatedTo !== undefined && isResponse(m) && m.id === relatedTo) answered = true;
      this.onmessage(m, related);
    });
    const onEvent = (e: SseEvent) => {
      if (e.id) lastEventId = e.id;
      if (e.event === "message") intake.event(e, relatedTo);
    };
    await readSse(body, onEvent, (ms) => (retryMs = ms), this.limits.messageBytes, RAW_FROM);
    for (let attempt = 0; !answered && relatedTo !== undefined && lastEventId && !this.closed && attempt < MAX_RESUMES; attempt++) {
      await Bun.sleep(retryMs);
      const headers = this.headers();
      delete headers["content-type"];
      headers.accept = "text/event-stream";
      headers["last-event-id"] = lastEventId;
      const res = await fetch(this.cfg.url, { headers, signal: this.aborter.signal });
      if (!res.ok || !res.body) {
        await res.body?.cancel();
        break;
      }
      await readSse(res.body, onEvent, (ms) => (retryMs = ms), this.limits.messageBytes, RAW_FROM);
    }
  }

  /** Answers a request that the backend never will, so its caller is not left waiting. */
  private reject(message: Message, reason: string): void {
    if (isRequest(message)) this.onmessage(failure(message.id, { code: -32000, message: reason }));
  }

  private lose(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.aborter.abort();
    this.onclose(reason);
  }
}
