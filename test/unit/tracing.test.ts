// The pieces of tracing on their own: W3C traceparent parsing and where it
// travels (ops/trace-context.ts), the OTLP JSON encoding held against the
// official one (@opentelemetry/otlp-transformer), the exporter's batching and
// bounds against a real receiver, and the tracer's sampling and span links.

import { afterAll, describe, expect, test } from "bun:test";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import type { Route } from "../../src/dispatch/router.ts";
import type { Call } from "../../src/pipeline/call.ts";
import type { Ended } from "../../src/pipeline/observe.ts";
import { exportRequest, nowUnixNano, OtlpExporter, type SpanRecord } from "../../src/ops/otlp.ts";
import { formatTraceparent, headerIntoMeta, parseTraceparent, randomSpanId, randomTraceId, traceHeaders } from "../../src/ops/trace-context.ts";
import { Tracer } from "../../src/ops/tracing.ts";
import { VERSION } from "../../src/version.ts";

const TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("traceparent", () => {
  test("a valid one is read, flags and all", () => {
    expect(parseTraceparent(TP)).toEqual({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", sampled: true });
    expect(parseTraceparent(TP.replace(/01$/, "00"))?.sampled).toBe(false);
    expect(parseTraceparent(TP.replace(/01$/, "03"))?.sampled).toBe(true);
    // A later version may append fields; version 00 may not.
    expect(parseTraceparent(`01${TP.slice(2)}-more`)).not.toBeNull();
    expect(parseTraceparent(`${TP}-more`)).toBeNull();
  });

  test.each([
    ["not a string", 42],
    ["uppercase hex", TP.toUpperCase()],
    ["all-zero trace id", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`],
    ["all-zero span id", `00-4bf92f3577b34da6a3ce929d0e0e4736-${"0".repeat(16)}-01`],
    ["version ff", `ff${TP.slice(2)}`],
    ["short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"],
  ])("%s is refused", (_, value) => {
    expect(parseTraceparent(value)).toBeNull();
  });

  test("made ones read back; ids are random hex of the right length", () => {
    const trace = randomTraceId();
    const span = randomSpanId();
    expect(trace).toMatch(/^[0-9a-f]{32}$/);
    expect(span).toMatch(/^[0-9a-f]{16}$/);
    expect(parseTraceparent(formatTraceparent(trace, span, false))).toEqual({ traceId: trace, spanId: span, sampled: false });
    const many = new Set(Array.from({ length: 2000 }, randomSpanId));
    expect(many.size).toBe(2000);
  });

  test("the HTTP header goes into _meta unless _meta has its own; tracestate only with it", () => {
    const headers = new Headers({ traceparent: TP, tracestate: "a=1" });
    const bare = { jsonrpc: "2.0" as const, id: 1, method: "tools/list" };
    headerIntoMeta(bare, headers);
    expect(bare).toMatchObject({ params: { _meta: { traceparent: TP, tracestate: "a=1" } } });
    const own = { jsonrpc: "2.0" as const, id: 2, method: "tools/call", params: { _meta: { traceparent: "mine" } } };
    headerIntoMeta(own, headers);
    expect(own.params._meta).toEqual({ traceparent: "mine" });
    const none = { jsonrpc: "2.0" as const, id: 3, method: "ping" };
    headerIntoMeta(none, new Headers({ tracestate: "a=1" }));
    expect(none).not.toHaveProperty("params");
  });

  test("a backend request's _meta trace context also goes as HTTP headers", () => {
    const m = { jsonrpc: "2.0" as const, id: 1, method: "tools/call", params: { _meta: { traceparent: TP, tracestate: "a=1" } } };
    expect(traceHeaders(m, { accept: "x" })).toEqual({ accept: "x", traceparent: TP, tracestate: "a=1" });
    expect(traceHeaders({ jsonrpc: "2.0", id: 1, method: "ping" }, { accept: "x" })).toEqual({ accept: "x" });
  });
});

/** A finished span as tracing.ts hands it to the exporter. */
function span(over: Partial<SpanRecord> = {}): SpanRecord {
  return {
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    spanId: "00f067aa0ba902b7",
    parentSpanId: "1111111111111111",
    traceState: "a=1",
    name: "tools/call echo",
    kind: 2,
    startTimeUnixNano: "1764633600123456789",
    endTimeUnixNano: "1764633600223456789",
    attributes: { "mcp.method.name": "tools/call", "server.port": 8080, ratio: 0.5, ok: true, absent: undefined },
    status: { code: 2, message: "boom" },
    flags: 0x301,
    ...over,
  };
}

/** What the official transformer writes for the same span (a ReadableSpan made from it). */
function official(serviceName: string, spans: SpanRecord[]): unknown {
  const resource = { attributes: { "service.name": serviceName, "service.version": VERSION } };
  const readable = spans.map((s) => ({
    name: s.name,
    kind: s.kind - 1,
    spanContext: () => ({ traceId: s.traceId, spanId: s.spanId, traceFlags: s.flags & 0xff, traceState: s.traceState && { serialize: () => s.traceState } }),
    parentSpanContext: s.parentSpanId ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 1, isRemote: (s.flags & 0x200) !== 0 } : undefined,
    startTime: hr(s.startTimeUnixNano),
    endTime: hr(s.endTimeUnixNano),
    attributes: Object.fromEntries(Object.entries(s.attributes).filter(([, v]) => v !== undefined)),
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    status: s.status,
    links: [],
    droppedLinksCount: 0,
    resource,
    instrumentationScope: { name: "sentinel", version: VERSION },
  }));
  const bytes = JsonTraceSerializer.serializeRequest(readable as unknown as Parameters<typeof JsonTraceSerializer.serializeRequest>[0])!;
  return JSON.parse(new TextDecoder().decode(bytes));
}

function hr(nanos: string): [number, number] {
  const n = BigInt(nanos);
  return [Number(n / 1_000_000_000n), Number(n % 1_000_000_000n)];
}

/** proto3 JSON: absent, zero, empty string and empty list are all the default. */
function normalized(v: unknown): unknown {
  if (Array.isArray(v)) return v.length ? v.map(normalized) : undefined;
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const n = normalized((v as Record<string, unknown>)[k]);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v === 0 || v === "" || v === null ? undefined : v;
}

describe("OTLP JSON encoding", () => {
  test("is the official encoding of the same spans", () => {
    const spans = [span(), span({ spanId: "2222222222222222", parentSpanId: "00f067aa0ba902b7", traceState: undefined, kind: 3, status: { code: 0 }, flags: 0x101 })];
    const root = span({ parentSpanId: undefined, flags: 0x101, status: { code: 0 } });
    const ours = JSON.parse(JSON.stringify(exportRequest("svc", [...spans, root])));
    expect(normalized(ours)).toEqual(normalized(official("svc", [...spans, root])));
    expect(ours.resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano).toBe("1764633600123456789");
  });

  test("the comparison catches a misnamed field", () => {
    const ours = JSON.parse(JSON.stringify(exportRequest("svc", [span()])));
    const s = ours.resourceSpans[0].scopeSpans[0].spans[0];
    s.parentSpanID = s.parentSpanId;
    delete s.parentSpanId;
    expect(normalized(ours)).not.toEqual(normalized(official("svc", [span()])));
  });

  test("times are nanoseconds since the epoch, as decimal strings", () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const now = nowUnixNano();
    expect(now).toMatch(/^\d{19}$/);
    expect(BigInt(now) - before).toBeLessThan(1_000_000_000n);
    expect(BigInt(now)).toBeGreaterThanOrEqual(before - 1_000_000n);
  });
});

/** A receiver that answers as told and keeps what it received. */
function receiver(status = 200) {
  const bodies: any[] = [];
  let notify = () => {};
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      bodies.push(await req.json());
      notify();
      return new Response("{}", { status });
    },
  });
  const spanCount = () => bodies.reduce((n, b) => n + b.resourceSpans[0].scopeSpans[0].spans.length, 0);
  return {
    url: `http://127.0.0.1:${server.port}/v1/traces`,
    bodies,
    spanCount,
    /** Resolves when `n` spans have arrived. */
    spans: (n: number) =>
      new Promise<void>((resolve) => {
        notify = () => spanCount() >= n && resolve();
        notify();
      }),
    stop: () => server.stop(true),
  };
}

describe("exporter", () => {
  const servers: { stop(): void }[] = [];
  afterAll(() => servers.forEach((s) => s.stop()));

  test("a full batch goes at once (no waiting for the interval), in batches of maxBatch", async () => {
    const r = receiver();
    servers.push(r);
    const e = new OtlpExporter({ endpoint: r.url, headers: {}, serviceName: "svc" }, { maxBatch: 3, intervalMs: 60_000 });
    e.start();
    for (let i = 0; i < 6; i++) e.add(span());
    await r.spans(6);
    expect(r.bodies.map((b) => b.resourceSpans[0].scopeSpans[0].spans.length)).toEqual([3, 3]);
    expect(r.bodies[0].resourceSpans[0].resource.attributes[0]).toEqual({ key: "service.name", value: { stringValue: "svc" } });
    await e.stop();
  });

  test("the queue is bounded: what does not fit is dropped and counted; stop() sends the rest", async () => {
    const r = receiver();
    servers.push(r);
    const e = new OtlpExporter({ endpoint: r.url, headers: {}, serviceName: "svc" }, { maxQueue: 4, maxBatch: 100, intervalMs: 60_000 });
    for (let i = 0; i < 10; i++) e.add(span());
    expect(e.dropped).toBe(6);
    await e.stop();
    expect(r.spanCount()).toBe(4);
  });

  test("a failing collector costs the batch, never an exception", async () => {
    const r = receiver(503);
    servers.push(r);
    const e = new OtlpExporter({ endpoint: r.url, headers: {}, serviceName: "svc" }, { intervalMs: 60_000 });
    e.add(span());
    e.add(span());
    await e.flush();
    expect(r.bodies).toHaveLength(1);
    // Counted until the next report (one a minute); the first was logged at once and reset the count.
    expect(e.dropped).toBe(0);
    e.add(span());
    await e.flush();
    expect(e.dropped).toBe(1);
  });
});

/** Enough of a Call for the tracer. */
function fakeCall(meta?: Record<string, unknown>): Call {
  return {
    id: "abc-1",
    request: { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "b__echo", ...(meta && { _meta: meta }) } },
    identity: { sub: "alice", roles: [] },
    session: { front: "stdio", protocolVersion: "2025-11-25" },
    auditSession: "stdio",
    traceparent: undefined,
    tracestate: undefined,
  } as unknown as Call;
}

const ROUTE = {
  kind: "tool",
  method: "tools/call",
  target: "b__echo",
  backend: { name: "b", era: "legacy", config: { transport: "stdio" } },
  params: { name: "echo" },
  args: {},
} as unknown as Route;

function ended(over: Partial<Ended> = {}): Ended {
  return { route: ROUTE, verdict: { decision: "allowed", rule: null } as Ended["verdict"], error: null, toolError: false, cancelled: false, totalUs: 10, backendUs: 5, ...over };
}

describe("tracer", () => {
  test("a sampled call: SERVER span under the client's, CLIENT span under it, whose context the backend gets", () => {
    const out: SpanRecord[] = [];
    const call = fakeCall({ traceparent: TP, tracestate: "a=1" });
    const o = new Tracer(0, (s) => out.push(s)).start(call)!;
    // The client's sampled flag wins over a ratio of 0.
    expect(o).not.toBeNull();
    o.forwarding!(ROUTE);
    const child = parseTraceparent(call.traceparent)!;
    expect(child.traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736");
    expect(call.tracestate).toBe("a=1");
    o.forwarded!();
    o.ended(ended());
    const [server, client] = out;
    expect(server).toMatchObject({ kind: 2, parentSpanId: "00f067aa0ba902b7", name: "tools/call b__echo", traceState: "a=1", flags: 0x301 });
    expect(server!.attributes).toMatchObject({ "sentinel.decision": "allowed", "sentinel.identity": "alice", "sentinel.request_id": "abc-1", "jsonrpc.request.id": "5" });
    expect(client).toMatchObject({ kind: 3, parentSpanId: server!.spanId, spanId: child.spanId, name: "tools/call echo", flags: 0x101 });
  });

  test("sampled out: no spans, and the backend is told the trace is not sampled", () => {
    const out: SpanRecord[] = [];
    const root = fakeCall();
    expect(new Tracer(0, (s) => out.push(s)).start(root)).toBeNull();
    expect(parseTraceparent(root.traceparent)?.sampled).toBe(false);
    const unsampled = fakeCall({ traceparent: TP.replace(/01$/, "00") });
    expect(new Tracer(1, (s) => out.push(s)).start(unsampled)).toBeNull();
    expect(parseTraceparent(unsampled.traceparent)).toMatchObject({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736", sampled: false });
    expect(out).toEqual([]);
  });

  test("a malformed client traceparent starts a new trace and its tracestate is not carried", () => {
    const out: SpanRecord[] = [];
    const call = fakeCall({ traceparent: "garbage", tracestate: "a=1" });
    const o = new Tracer(1, (s) => out.push(s)).start(call)!;
    o.forwarding!(ROUTE);
    o.ended(ended({ cancelled: true }));
    expect(out[0]!.parentSpanId).toBeUndefined();
    expect(out[0]!.traceState).toBeUndefined();
    expect(call.tracestate).toBeUndefined();
    expect(out[0]!.attributes["sentinel.outcome"]).toBe("cancelled");
    expect(out[0]!.status.code).toBe(0);
  });
});
