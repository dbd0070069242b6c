// A modern (2026-07-28) backend over Streamable HTTP: every request is its own
// POST, answered with JSON or an SSE stream that ends with the response. No
// session, no GET stream, no DELETE, no notifications to send: closing a
// request's POST is how it is cancelled. A broken stream loses the request
// (there is no resumption in this revision), so its caller gets an error.

import type { RemoteBackendConfig, JsonLimits } from "../config/load.ts";
import { readBodyBytes } from "../jsonrpc/body.ts";
import { failure, isObject, isRequest, isResponse, type JsonRpcId, type Message, type Request } from "../jsonrpc/message.ts";
import { RAW_FROM } from "../jsonrpc/raw-result.ts";
import { logger, type Logger } from "../log.ts";
import { Intake } from "./intake.ts";
import { modernHeaders, type ParamHeader } from "./modern-headers.ts";
import { EventTooLarge, readSse, type SseEvent } from "./sse-parser.ts";
import type { Transport } from "./transport.ts";
import { traceHeaders } from "../ops/trace-context.ts";
import { post, type BackendResponse } from "./http1.ts";

export class ModernHttpTransport implements Transport {
  onmessage: (message: Message, relatedTo?: JsonRpcId) => void = () => {};
  onclose: (reason: string) => void = () => {};
  /** The POST of each request waiting for its answer, so that it can be closed. */
  private readonly posts = new Map<JsonRpcId, AbortController>();
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly cfg: RemoteBackendConfig,
    private readonly limits: JsonLimits,
    /** The x-mcp-header annotations of a tool, by the backend's own name (from its tools/list). */
    private readonly paramHeaders: (tool: string) => readonly ParamHeader[] | undefined,
  ) {
    this.log = logger(cfg.name);
  }

  async start(): Promise<void> {}

  send(message: Message): void {
    // A modern server sends no requests to answer, and no client notification exists on HTTP.
    if (isRequest(message)) void this.post(message);
  }

  /** Closing the request's POST is its cancellation (§1.9). */
  cancel(id: JsonRpcId): boolean {
    this.posts.get(id)?.abort();
    this.posts.delete(id);
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const post of this.posts.values()) post.abort();
    this.posts.clear();
  }

  private async post(r: Request): Promise<void> {
    if (this.closed) return;
    const aborter = new AbortController();
    this.posts.set(r.id, aborter);
    const tool = r.method === "tools/call" && typeof r.params?.name === "string" ? this.paramHeaders(r.params.name) : undefined;
    const headers = traceHeaders(r, {
      ...this.cfg.headers,
      ...modernHeaders(r, tool),
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    });
    try {
      let res: BackendResponse;
      try {
        res = await post(this.cfg.url, { headers, body: JSON.stringify(r), signal: aborter.signal });
      } catch (err) {
        if (aborter.signal.aborted) return;
        // Where it failed and why is for the log; the client knows the backend by name only.
        this.log.warn(`cannot reach ${this.cfg.url}: ${(err as Error).message}`);
        this.answer(r.id, -32000, `Backend ${this.cfg.name} is unreachable`);
        this.lose(`backend ${this.cfg.name} is unreachable`);
        return;
      }
      await this.read(r.id, res, aborter);
    } finally {
      if (this.posts.get(r.id) === aborter) this.posts.delete(r.id);
    }
  }

  private async read(id: JsonRpcId, res: BackendResponse, aborter: AbortController): Promise<void> {
    const type = res.headers.get("content-type") ?? "";
    let answered = false;
    const intake = new Intake(this.cfg.name, this.limits, this.log, (m, related) => {
      if (isResponse(m) && m.id === id) answered = true;
      this.onmessage(m, related);
    }, () => {});
    try {
      if (!res.ok) {
        // A refusal (400 -32020/-32021/-32022, 404 -32601) carries its JSON-RPC error: that is what the caller reads.
        const text = await res.text();
        const error = errorOf(text);
        if (error) intake.text(JSON.stringify({ jsonrpc: "2.0", id, error }), id);
        else if (text) this.log.warn(`HTTP ${res.status}: ${text.slice(0, 500)}`);
      } else if (type.includes("text/event-stream") && res.body) {
        const onEvent = (e: SseEvent) => {
          if (e.event === "message") intake.event(e, id);
        };
        await readSse(res.body, onEvent, undefined, this.limits.messageBytes, RAW_FROM);
      } else if (type.includes("application/json")) {
        const read = await readBodyBytes(res.body, this.limits.messageBytes);
        if (read === null) throw new EventTooLarge(this.limits.messageBytes);
        intake.bytes(read.parts, read.size, id);
      } else {
        await res.body?.cancel();
      }
    } catch (err) {
      if (aborter.signal.aborted || this.closed) return;
      const why = err instanceof EventTooLarge ? `answer over the ${err.limit}-byte limit (limits.backend.messageBytes)` : (err as Error).message;
      this.log.warn(`answer stream: ${why}`);
    }
    if (answered || aborter.signal.aborted || this.closed) return;
    this.answer(id, -32000, res.ok ? `Backend ${this.cfg.name} closed its answer stream before answering` : `Backend ${this.cfg.name} answered HTTP ${res.status}`);
  }

  /** Answers a request that the backend never will, so its caller is not left waiting. */
  private answer(id: JsonRpcId, code: number, message: string): void {
    this.onmessage(failure(id, { code, message }), id);
  }

  private lose(reason: string): void {
    if (this.closed) return;
    void this.close();
    this.onclose(reason);
  }
}

/** The JSON-RPC error in a refusal's body, if it holds one. */
function errorOf(text: string): Record<string, unknown> | null {
  try {
    const body = JSON.parse(text) as unknown;
    return isObject(body) && isObject(body.error) && typeof body.error.code === "number" ? body.error : null;
  } catch {
    return null;
  }
}
