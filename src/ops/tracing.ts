// Traces of the calls Sentinel serves, after the OpenTelemetry semantic
// conventions for MCP (semantic-conventions-genai, model/mcp): one SERVER span
// per client request, a child CLIENT span for its call at the backend, and the
// trace carried on to the backend (its request's _meta, and the HTTP header)
// so that one trace spans client, Sentinel and backend. Loaded only when
// `tracing` is configured (gateway.ts); exported by otlp.ts.

import type { Config } from "../config/load.ts";
import type { Route } from "../dispatch/router.ts";
import type { Call } from "../pipeline/call.ts";
import type { CallObserver, Ended, Observation } from "../pipeline/observe.ts";
import { exportRequest, HAS_IS_REMOTE, IS_REMOTE, nowUnixNano, OtlpExporter, type AttributeValue, type ExporterOptions, type SpanRecord } from "./otlp.ts";
import { formatTraceparent, parseTraceparent, randomSpanId, randomTraceId } from "./trace-context.ts";

export type TracingConfig = NonNullable<Config["tracing"]>;

const SERVER = 2;
const CLIENT = 3;
const SAMPLED = 0x01;
const MODERN_VERSION = "2026-07-28";

// JSON-RPC codes of requests the server could not serve through the caller's fault: not errors of a server span (semconv).
const CALLER_FAULTS = new Set([-32700, -32600, -32601, -32602, -32002]);

export type Tracing = { observer: CallObserver; stop(): Promise<void> };

/** The observer the gateway adds, and how to flush its spans on shutdown. */
export function startTracing(cfg: TracingConfig, opts?: ExporterOptions): Tracing {
  const exporter = new OtlpExporter(cfg, opts);
  exporter.start();
  return { observer: new Tracer(cfg.sampleRatio, (s) => exporter.add(s)), stop: () => exporter.stop() };
}

export { exportRequest };

export class Tracer implements CallObserver {
  constructor(
    private readonly sampleRatio: number,
    private readonly sink: (span: SpanRecord) => void,
  ) {}

  start(call: Call): Observation | null {
    const meta = call.request.params?._meta as Record<string, unknown> | undefined;
    const parent = parseTraceparent(meta?.traceparent);
    const tracestate = parent && typeof meta?.tracestate === "string" ? meta.tracestate : undefined;
    // A caller's decision is followed (W3C: the sampled flag); the ratio decides only for traces that start here.
    const sampled = parent ? parent.sampled : this.sampleRatio >= 1 || Math.random() < this.sampleRatio;
    const traceId = parent?.traceId ?? randomTraceId();
    if (!sampled) {
      // Not recorded, but the backend still learns the trace and that it is not sampled.
      call.traceparent = formatTraceparent(traceId, randomSpanId(), false);
      call.tracestate = tracestate;
      return null;
    }
    return new CallSpan(call, traceId, parent?.spanId, tracestate, this.sink);
  }
}

/** One sampled call: its SERVER span, and the CLIENT span of its backend call once forwarded. */
class CallSpan implements Observation {
  private readonly spanId = randomSpanId();
  private readonly startNs = nowUnixNano();
  private route: Route | null = null;
  private childId: string | null = null;
  private childStartNs = "";
  private childEndNs = "";

  constructor(
    private readonly call: Call,
    private readonly traceId: string,
    private readonly parentId: string | undefined,
    private readonly tracestate: string | undefined,
    private readonly sink: (span: SpanRecord) => void,
  ) {}

  forwarding(route: Route): void {
    this.route = route;
    this.childId = randomSpanId();
    this.childStartNs = nowUnixNano();
    // The backend's request carries the CLIENT span's context, replacing whatever the caller sent.
    this.call.traceparent = formatTraceparent(this.traceId, this.childId, true);
    this.call.tracestate = this.tracestate;
  }

  forwarded(): void {
    this.childEndNs = nowUnixNano();
  }

  ended(how: Ended): void {
    const endNs = nowUnixNano();
    const { call } = this;
    const route = how.route;
    const method = call.request.method;
    const outcome = how.cancelled ? "cancelled" : how.error || how.toolError ? "error" : "ok";
    const errorType = how.cancelled ? undefined : how.error ? String(how.error.rpcCode) : how.toolError ? "tool_error" : undefined;
    const failed = !how.cancelled && ((how.error !== null && !CALLER_FAULTS.has(how.error.rpcCode)) || how.toolError);
    const envelope = (call as { envelope?: { version?: string } }).envelope;
    const http = call.session.front === "http";
    // The exposed name is low-cardinality only when the catalog knows it (a backend was found).
    const target = route?.backend ? targetName(route.kind, route.target) : undefined;
    this.sink({
      traceId: this.traceId,
      spanId: this.spanId,
      parentSpanId: this.parentId,
      traceState: this.tracestate,
      name: target ? `${method} ${target}` : method,
      kind: SERVER,
      startTimeUnixNano: this.startNs,
      endTimeUnixNano: endNs,
      attributes: {
        "mcp.method.name": method,
        "jsonrpc.request.id": String(call.request.id),
        "mcp.protocol.version": envelope?.version ?? call.session.protocolVersion ?? undefined,
        // Only a 2025 HTTP session has an Mcp-Session-Id (none in 2026-07-28, none on stdio).
        "mcp.session.id": http ? (call.auditSession ?? undefined) : undefined,
        "network.transport": http ? "tcp" : "pipe",
        "network.protocol.name": http ? "http" : undefined,
        ...targetAttributes(route, route?.target),
        "error.type": errorType,
        "rpc.response.status_code": how.error ? String(how.error.rpcCode) : undefined,
        "sentinel.request_id": call.id,
        "sentinel.identity": call.identity.sub,
        "sentinel.backend": route?.backend?.name,
        "sentinel.decision": how.verdict.decision ?? undefined,
        "sentinel.rule": how.verdict.rule ?? undefined,
        "sentinel.outcome": outcome,
      },
      status: failed ? { code: 2, message: how.error?.message } : { code: 0 },
      flags: SAMPLED | HAS_IS_REMOTE | (this.parentId ? IS_REMOTE : 0),
    });
    if (this.childId && this.route) this.sink(this.clientSpan(this.route, how, errorType));
  }

  private clientSpan(route: Route, how: Ended, errorType: string | undefined): SpanRecord {
    const backend = route.backend!;
    // What the backend knows it as: its own tool or prompt name, or the URI.
    const key = route.method === "resources/read" ? route.params.uri : route.params.name;
    const own = typeof key === "string" ? key : undefined;
    const remote = backend.config.transport !== "stdio" ? endpointOf(backend.config.url) : null;
    return {
      traceId: this.traceId,
      spanId: this.childId!,
      parentSpanId: this.spanId,
      name: own && targetName(route.kind, own) ? `${route.method} ${own}` : route.method,
      kind: CLIENT,
      startTimeUnixNano: this.childStartNs,
      // A call that ended without forwarded() (it threw in between) ends with the call.
      endTimeUnixNano: this.childEndNs || nowUnixNano(),
      attributes: {
        "mcp.method.name": route.method,
        "mcp.protocol.version": backend.era === "modern" ? MODERN_VERSION : undefined,
        "network.transport": remote ? "tcp" : "pipe",
        "network.protocol.name": remote ? "http" : undefined,
        "server.address": remote?.address,
        "server.port": remote?.port,
        ...targetAttributes(route, own),
        "error.type": errorType,
        "rpc.response.status_code": how.error ? String(how.error.rpcCode) : undefined,
        "sentinel.backend": backend.name,
      },
      // Every JSON-RPC error is an error of a client span (semconv).
      status: !how.cancelled && (how.error || how.toolError) ? { code: 2, message: how.error?.message } : { code: 0 },
      flags: SAMPLED | HAS_IS_REMOTE,
    };
  }
}

function targetName(kind: Route["kind"], target: string): string | undefined {
  // Resource URIs are left out of span names: too many of them (semconv).
  return kind === "tool" || kind === "prompt" ? target : undefined;
}

/** The tool, prompt or resource attributes for a route; `name` is the exposed one or the backend's own. */
function targetAttributes(route: Route | null, name: string | undefined): Record<string, AttributeValue | undefined> {
  if (!route || name === undefined) return {};
  if (route.method === "tools/call") return { "gen_ai.tool.name": name, "gen_ai.operation.name": "execute_tool" };
  if (route.method === "prompts/get") return { "gen_ai.prompt.name": name };
  if (route.method === "resources/read") return { "mcp.resource.uri": name };
  return {};
}

const endpoints = new Map<string, { address: string; port: number }>();

function endpointOf(url: string): { address: string; port: number } {
  let e = endpoints.get(url);
  if (!e) {
    const u = new URL(url);
    e = { address: u.hostname, port: u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80 };
    endpoints.set(url, e);
  }
  return e;
}
