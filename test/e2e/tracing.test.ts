// Traces through the binary: a local OTLP/HTTP receiver takes what Sentinel
// exports, each export is checked against the official OpenTelemetry JSON
// encoding (@opentelemetry/otlp-transformer re-encodes the same spans and must
// produce the same document), and a backend that echoes the trace context it
// received (test/fixtures/trace-echo.ts) shows what was propagated.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { join } from "node:path";
import { BUN, INIT, ROOT, rawHttp, startHttpGateway, stdioRpc, tempDir, textOf, writeConfig, type HttpGateway, type Spawned } from "./harness.ts";

const TRACE_ECHO = join(ROOT, "test/fixtures/trace-echo.ts");
const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const TRACEPARENT = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
const TRACESTATE = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";

type KeyValue = { key: string; value: Record<string, unknown> };
type OtlpSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  status?: { code?: number; message?: string };
  flags?: number;
};
type Export = { resourceSpans: { resource: { attributes: KeyValue[] }; scopeSpans: { scope: { name: string; version?: string }; spans: OtlpSpan[] }[] }[] };
type Received = { span: OtlpSpan; attrs: Record<string, unknown>; service: unknown };

/** An OTLP/HTTP receiver on a free port: POST /v1/traces, JSON encoding. */
function otlpReceiver() {
  const spans: Received[] = [];
  const problems: string[] = [];
  let posts = 0;
  const waiters = new Set<() => void>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      posts++;
      const path = new URL(req.url).pathname;
      if (req.method !== "POST" || path !== "/v1/traces") problems.push(`${req.method} ${path}`);
      if (req.headers.get("content-type") !== "application/json") problems.push(`content-type ${req.headers.get("content-type")}`);
      if (req.headers.get("x-tenant") !== "t1") problems.push("the configured header is missing");
      const body = (await req.json()) as Export;
      const mismatch = againstOfficialEncoding(body);
      if (mismatch) problems.push(mismatch);
      for (const rs of body.resourceSpans) {
        const service = attributesOf(rs.resource.attributes)["service.name"];
        for (const ss of rs.scopeSpans) for (const span of ss.spans) spans.push({ span, attrs: attributesOf(span.attributes ?? []), service });
      }
      for (const w of waiters) w();
      // An empty ExportTraceServiceResponse: full success.
      return Response.json({});
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/v1/traces`,
    spans,
    problems,
    get posts() {
      return posts;
    },
    /** Resolves with the received spans once `found` holds for them (checked on each export). */
    until(found: (spans: Received[]) => boolean, ms = 10_000): Promise<Received[]> {
      if (found(spans)) return Promise.resolve(spans);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`spans not received within ${ms} ms; got: ${spans.map((s) => s.span.name).join(", ")}`));
        }, ms);
        const check = () => {
          if (!found(spans)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(spans);
        };
        waiters.add(check);
      });
    },
    stop: () => server.stop(true),
  };
}

function attributesOf(kvs: KeyValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of kvs) out[key] = Object.values(value)[0];
  return out;
}

/**
 * The same spans encoded by the official OTLP transformer: the export must read
 * the same (proto3 JSON, where absent and default values are one). A field
 * misnamed, mistyped or misplaced shows as a difference.
 */
function againstOfficialEncoding(body: Export): string | null {
  const records: unknown[] = [];
  for (const rs of body.resourceSpans) {
    const resource = { attributes: fromKeyValues(rs.resource.attributes) };
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        const flags = s.flags ?? 0;
        records.push({
          name: s.name,
          kind: s.kind - 1,
          spanContext: () => ({ traceId: s.traceId, spanId: s.spanId, traceFlags: flags & 0xff, traceState: s.traceState && { serialize: () => s.traceState } }),
          parentSpanContext: s.parentSpanId ? { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 1, isRemote: (flags & 0x200) !== 0 } : undefined,
          startTime: hrTime(s.startTimeUnixNano),
          endTime: hrTime(s.endTimeUnixNano),
          attributes: fromKeyValues(s.attributes ?? []),
          droppedAttributesCount: 0,
          events: [],
          droppedEventsCount: 0,
          status: { code: s.status?.code ?? 0, message: s.status?.message },
          links: [],
          droppedLinksCount: 0,
          resource,
          instrumentationScope: ss.scope,
        });
      }
    }
  }
  const official = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(records as Parameters<typeof JsonTraceSerializer.serializeRequest>[0])!));
  const [a, b] = [JSON.stringify(normalized(body)), JSON.stringify(normalized(official))];
  return a === b ? null : `differs from the official encoding:\n  sent     ${a}\n  official ${b}`;
}

function fromKeyValues(kvs: KeyValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { key, value } of kvs) {
    const [kind, v] = Object.entries(value)[0]!;
    out[key] = kind === "intValue" ? Number(v) : v;
  }
  return out;
}

function hrTime(nanos: string): [number, number] {
  const n = BigInt(nanos); // throws on anything but a decimal integer string
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

/** What the trace-echo backend said it received. */
function seenBy(result: unknown): { meta: { traceparent: string | null; tracestate: string | null }; header: { traceparent: string | null; tracestate: string | null } } {
  return JSON.parse(textOf(result));
}

const byKind = (spans: Received[], kind: number, trace: string) => spans.filter((s) => s.span.kind === kind && s.span.traceId === trace);

async function startTraceEcho(...extra: string[]): Promise<Spawned> {
  const proc = Bun.spawn([BUN, TRACE_ECHO, "--transport", "http", ...extra], { stdout: "pipe", stderr: "ignore" });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!/LISTENING (\S+)/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`trace-echo exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  return { url: /LISTENING (\S+)/.exec(text)![1]!, proc, stop: async () => void (proc.kill(), await proc.exited) };
}

async function answerOf(res: Response): Promise<Record<string, any>> {
  const text = await res.text();
  if (!(res.headers.get("content-type") ?? "").includes("text/event-stream")) return JSON.parse(text);
  const data = text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6)));
  return data.find((m) => "result" in m || "error" in m);
}

describe("tracing on the stdio front, stdio backend", () => {
  const receiver = otlpReceiver();
  let gw: ReturnType<typeof stdioRpc>;
  beforeAll(async () => {
    const config = writeConfig(tempDir(), {
      tracing: { endpoint: receiver.url, headers: { "x-tenant": "t1" }, serviceName: "sentinel-e2e" },
      backends: { tr: { command: BUN, args: [TRACE_ECHO] } },
    });
    gw = stdioRpc(config);
    expect((await gw.call("initialize", INIT.params))?.result).toBeDefined();
    gw.notify("notifications/initialized");
  });
  afterAll(async () => {
    await gw.close();
    receiver.stop();
  });

  test("a tools/call with a traceparent in _meta: SERVER span under the client's, CLIENT span under it, and the backend continues it", async () => {
    const answer = await gw.call("tools/call", { name: "tr__trace", arguments: {}, _meta: { traceparent: TRACEPARENT, tracestate: TRACESTATE } });
    const seen = seenBy(answer?.result);
    const spans = await receiver.until((s) => byKind(s, 2, CLIENT_TRACE).length === 1 && byKind(s, 3, CLIENT_TRACE).length === 1);
    const [server] = byKind(spans, 2, CLIENT_TRACE);
    const [client] = byKind(spans, 3, CLIENT_TRACE);

    expect(server!.span.parentSpanId).toBe(CLIENT_SPAN);
    expect(server!.span.traceState).toBe(TRACESTATE);
    expect(server!.span.name).toBe("tools/call tr__trace");
    expect(server!.service).toBe("sentinel-e2e");
    expect(server!.attrs).toMatchObject({
      "mcp.method.name": "tools/call",
      "gen_ai.tool.name": "tr__trace",
      "gen_ai.operation.name": "execute_tool",
      "jsonrpc.request.id": String(answer!.id),
      "mcp.protocol.version": "2025-11-25",
      "network.transport": "pipe",
      "sentinel.backend": "tr",
      "sentinel.outcome": "ok",
    });
    expect(server!.attrs["sentinel.request_id"]).toBeString();
    expect(server!.attrs["sentinel.identity"]).toBeString();
    // No Mcp-Session-Id on stdio.
    expect(server!.attrs["mcp.session.id"]).toBeUndefined();
    expect(server!.attrs["error.type"]).toBeUndefined();

    expect(client!.span.parentSpanId).toBe(server!.span.spanId);
    expect(client!.span.name).toBe("tools/call trace");
    expect(client!.attrs).toMatchObject({ "mcp.method.name": "tools/call", "gen_ai.tool.name": "trace", "network.transport": "pipe", "sentinel.backend": "tr" });
    expect(BigInt(client!.span.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(server!.span.startTimeUnixNano));
    expect(BigInt(client!.span.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(server!.span.endTimeUnixNano));

    // The backend got the CLIENT span's context, not the one the client sent; the client's tracestate went along.
    expect(seen.meta.traceparent).toBe(`00-${CLIENT_TRACE}-${client!.span.spanId}-01`);
    expect(seen.meta.tracestate).toBe(TRACESTATE);
    expect(receiver.problems).toEqual([]);
  });

  test("errors: a tool error is error.type tool_error; an unknown tool its JSON-RPC code, not a server fault; own answers have no CLIENT span", async () => {
    const trace = "11111111111111111111111111111111";
    const failed = await gw.call("tools/call", { name: "tr__fail", arguments: {}, _meta: { traceparent: `00-${trace}-1111111111111111-01` } });
    expect(failed?.result?.isError).toBe(true);
    const unknown = await gw.call("tools/call", { name: "tr__nope", arguments: {}, _meta: { traceparent: `00-${trace}-2222222222222222-01` } });
    expect(unknown?.error?.code).toBe(-32602);
    await gw.call("tools/list", { _meta: { traceparent: `00-${trace}-3333333333333333-01` } });
    const spans = await receiver.until((s) => byKind(s, 2, trace).length === 3);
    const server = (parent: string) => byKind(spans, 2, trace).find((s) => s.span.parentSpanId === parent)!;

    const tool = server("1111111111111111");
    expect(tool.attrs).toMatchObject({ "error.type": "tool_error", "sentinel.outcome": "error" });
    expect(tool.span.status?.code).toBe(2);
    const [client] = byKind(spans, 3, trace);
    expect(client!.span.parentSpanId).toBe(tool.span.spanId);
    expect(client!.span.status?.code).toBe(2);

    const missing = server("2222222222222222");
    // Not in the catalog: the name stays out of the span name, and the caller's fault is no server error.
    expect(missing.span.name).toBe("tools/call");
    expect(missing.attrs).toMatchObject({ "error.type": "-32602", "rpc.response.status_code": "-32602", "sentinel.outcome": "error" });
    expect(missing.span.status?.code ?? 0).toBe(0);

    expect(server("3333333333333333").span.name).toBe("tools/list");
    expect(byKind(spans, 3, trace)).toHaveLength(1);
    expect(receiver.problems).toEqual([]);
  });

  test("a client that did not sample: no span, and the backend learns the trace unsampled", async () => {
    const unsampled = "22222222222222222222222222222222";
    const answer = await gw.call("tools/call", { name: "tr__trace", arguments: {}, _meta: { traceparent: `00-${unsampled}-3333333333333333-00` } });
    const seen = seenBy(answer?.result);
    expect(seen.meta.traceparent).toMatch(new RegExp(`^00-${unsampled}-[0-9a-f]{16}-00$`));
    expect(seen.meta.traceparent).not.toContain("3333333333333333");
    // A sampled call after it: once its spans are in, the unsampled one's would have been too (one queue, in order).
    const after = "33333333333333333333333333333333";
    await gw.call("tools/call", { name: "tr__trace", arguments: {}, _meta: { traceparent: `00-${after}-4444444444444444-01` } });
    const spans = await receiver.until((s) => byKind(s, 3, after).length === 1);
    expect(spans.filter((s) => s.span.traceId === unsampled)).toEqual([]);
  });

  test("without a parent, the trace starts at Sentinel: a root SERVER span, its id at the backend", async () => {
    const answer = await gw.call("tools/call", { name: "tr__trace", arguments: {} });
    const seen = seenBy(answer?.result);
    const [, trace, spanId] = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(seen.meta.traceparent ?? "") ?? [];
    expect(trace).toBeString();
    const spans = await receiver.until((s) => byKind(s, 3, trace!).length === 1);
    const [server] = byKind(spans, 2, trace!);
    expect(server!.span.parentSpanId ?? "").toBe("");
    expect(byKind(spans, 3, trace!)[0]!.span.spanId).toBe(spanId!);
  });
});

describe("tracing on the HTTP front, HTTP backend", () => {
  const receiver = otlpReceiver();
  let backend: Spawned;
  let gw: HttpGateway;
  beforeAll(async () => {
    backend = await startTraceEcho();
    const config = writeConfig(tempDir(), {
      tracing: { endpoint: receiver.url, headers: { "x-tenant": "t1" } },
      identity: { anonymous: { roles: [] } },
      backends: { tr: { url: backend.url } },
    });
    gw = await startHttpGateway(config);
  });
  afterAll(async () => {
    await gw.stop();
    await backend.stop();
    receiver.stop();
  });

  test("a traceparent header: the SERVER span's parent; the backend gets the CLIENT span in _meta and in its header", async () => {
    const http = await rawHttp(gw.url);
    const trace = "44444444444444444444444444444444";
    const body = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "tr__trace", arguments: {} } });
    const answer = await answerOf(await http.post(body, { traceparent: `00-${trace}-5555555555555555-01`, tracestate: "k=v" }));
    const seen = seenBy(answer.result);
    const spans = await receiver.until((s) => byKind(s, 3, trace).length === 1);
    const [server] = byKind(spans, 2, trace);
    const [client] = byKind(spans, 3, trace);
    expect(server!.span.parentSpanId).toBe("5555555555555555");
    expect(server!.span.traceState).toBe("k=v");
    expect(server!.attrs).toMatchObject({
      "mcp.method.name": "tools/call",
      "jsonrpc.request.id": "7",
      "mcp.session.id": http.session,
      "network.transport": "tcp",
      "network.protocol.name": "http",
      "sentinel.backend": "tr",
    });
    expect(server!.service).toBe("sentinel");
    expect(client!.span.parentSpanId).toBe(server!.span.spanId);
    expect(client!.attrs).toMatchObject({ "network.transport": "tcp", "server.address": "127.0.0.1", "server.port": Number(new URL(backend.url).port) });
    const sent = `00-${trace}-${client!.span.spanId}-01`;
    expect(seen.meta.traceparent).toBe(sent);
    expect(seen.header.traceparent).toBe(sent);
    expect(seen.header.tracestate).toBe("k=v");
    expect(receiver.problems).toEqual([]);
  });

  test("_meta's traceparent wins over the header's", async () => {
    const http = await rawHttp(gw.url);
    const trace = "55555555555555555555555555555555";
    const meta = `00-${trace}-6666666666666666-01`;
    const body = JSON.stringify({ jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "tr__trace", arguments: {}, _meta: { traceparent: meta } } });
    await answerOf(await http.post(body, { traceparent: "00-66666666666666666666666666666666-7777777777777777-01" }));
    const spans = await receiver.until((s) => byKind(s, 2, trace).length === 1);
    expect(byKind(spans, 2, trace)[0]!.span.parentSpanId).toBe("6666666666666666");
    expect(spans.filter((s) => s.span.traceId === "66666666666666666666666666666666")).toEqual([]);
  });

  test("a 2026-07-28 POST: the traceparent header is its parent, and it has no session", async () => {
    const trace = "77777777777777777777777777777777";
    const V = "2026-07-28";
    const body = {
      jsonrpc: "2.0",
      id: 9,
      method: "tools/call",
      params: { name: "tr__trace", arguments: {}, _meta: { "io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": {} } },
    };
    const res = await fetch(gw.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": V,
        "mcp-method": "tools/call",
        "mcp-name": "tr__trace",
        traceparent: `00-${trace}-8888888888888888-01`,
      },
      body: JSON.stringify(body),
    });
    const seen = seenBy((await answerOf(res)).result);
    const spans = await receiver.until((s) => byKind(s, 3, trace).length === 1);
    const [server] = byKind(spans, 2, trace);
    expect(server!.span.parentSpanId).toBe("8888888888888888");
    expect(server!.attrs["mcp.protocol.version"]).toBe(V);
    expect(server!.attrs["mcp.session.id"]).toBeUndefined();
    expect(seen.meta.traceparent).toBe(`00-${trace}-${byKind(spans, 3, trace)[0]!.span.spanId}-01`);
  });
});

describe("tracing to 2026-07-28 backends", () => {
  const receiver = otlpReceiver();
  let backend: Spawned;
  let gw: ReturnType<typeof stdioRpc>;
  beforeAll(async () => {
    backend = await startTraceEcho("--modern");
    const config = writeConfig(tempDir(), {
      tracing: { endpoint: receiver.url, headers: { "x-tenant": "t1" } },
      backends: { ms: { command: BUN, args: [TRACE_ECHO, "--modern"], era: "modern" }, mh: { url: backend.url, era: "modern" } },
    });
    gw = stdioRpc(config);
    expect((await gw.call("initialize", INIT.params))?.result).toBeDefined();
    gw.notify("notifications/initialized");
  });
  afterAll(async () => {
    await gw.close();
    await backend.stop();
    receiver.stop();
  });

  test.each([
    ["stdio", "ms", "88888888888888888888888888888888"],
    ["HTTP", "mh", "99999999999999999999999999999999"],
  ])("over %s the backend's request carries the CLIENT span, in its envelope's _meta and its headers", async (transport, name, trace) => {
    const answer = await gw.call("tools/call", { name: `${name}__trace`, arguments: {}, _meta: { traceparent: `00-${trace}-1212121212121212-01`, tracestate: "x=1" } });
    const seen = seenBy(answer?.result);
    const spans = await receiver.until((s) => byKind(s, 3, trace).length === 1);
    const [client] = byKind(spans, 3, trace);
    expect(client!.attrs["mcp.protocol.version"]).toBe("2026-07-28");
    const sent = `00-${trace}-${client!.span.spanId}-01`;
    expect(seen.meta).toEqual({ traceparent: sent, tracestate: "x=1" });
    if (transport === "HTTP") expect(seen.header).toEqual({ traceparent: sent, tracestate: "x=1" });
    expect(receiver.problems).toEqual([]);
  });
});

describe("without tracing configured", () => {
  test("no spans are sent, and the client's traceparent reaches the backend as it was", async () => {
    const receiver = otlpReceiver();
    const config = writeConfig(tempDir(), { backends: { tr: { command: BUN, args: [TRACE_ECHO] } } });
    const gw = stdioRpc(config);
    try {
      await gw.call("initialize", INIT.params);
      gw.notify("notifications/initialized");
      const answer = await gw.call("tools/call", { name: "tr__trace", arguments: {}, _meta: { traceparent: TRACEPARENT } });
      expect(seenBy(answer?.result).meta.traceparent).toBe(TRACEPARENT);
    } finally {
      // The gateway has exited (and would have flushed any spans): nothing reached the receiver.
      await gw.close();
      receiver.stop();
    }
    expect(receiver.posts).toBe(0);
  });
});
