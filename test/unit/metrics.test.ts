// The metrics registry's text format, the call observer's labels (bounded,
// whatever clients send), and who may scrape GET /metrics, driven in-process.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Backend } from "../../src/backends/backend.ts";
import type { Route } from "../../src/dispatch/router.ts";
import { BackendBusy, BackendUnavailable, CircuitOpen, Disabled, RateLimited, UnknownTarget, type SentinelError } from "../../src/errors.ts";
import type { ServerHooks } from "../../src/front/http/app.ts";
import { CallMetrics } from "../../src/ops/call-metrics.ts";
import { loopbackAddress } from "../../src/ops/metrics-route.ts";
import { Registry } from "../../src/ops/metrics.ts";
import type { Call } from "../../src/pipeline/call.ts";
import type { Ended } from "../../src/pipeline/observe.ts";
import type { Verdict } from "../../src/pipeline/steps.ts";
import { call, openSession, post, startFront, type Front } from "./in-process-http.ts";

describe("registry", () => {
  test("a counter's series, with label values escaped and HELP escaped", () => {
    const r = new Registry();
    const c = r.counter("x_total", "Counts \\ things\nover lines.", ["a", "b"]);
    c.child('say "hi"', "back\\slash\nnewline").value += 2;
    c.child("plain", "").value++;
    expect(r.render()).toBe(
      [
        "# HELP x_total Counts \\\\ things\\nover lines.",
        "# TYPE x_total counter",
        'x_total{a="say \\"hi\\"",b="back\\\\slash\\nnewline"} 2',
        'x_total{a="plain",b=""} 1',
        "",
      ].join("\n"),
    );
  });

  test("child() hands back the same series for the same labels", () => {
    const c = new Registry().counter("y_total", "y", ["a"]);
    expect(c.child("1")).toBe(c.child("1"));
    expect(c.child("1")).not.toBe(c.child("2"));
    expect(() => c.child()).toThrow(TypeError);
  });

  test("a histogram's buckets are cumulative, end in +Inf and equal its count", () => {
    const r = new Registry();
    const h = r.histogram("lat_seconds", "Latency.", ["m"], [0.1, 1]);
    const s = h.child("get");
    for (const v of [0.05, 0.1, 0.5, 2, 3]) s.observe(v);
    expect(r.render()).toBe(
      [
        "# HELP lat_seconds Latency.",
        "# TYPE lat_seconds histogram",
        'lat_seconds_bucket{m="get",le="0.1"} 2',
        'lat_seconds_bucket{m="get",le="1"} 3',
        'lat_seconds_bucket{m="get",le="+Inf"} 5',
        'lat_seconds_sum{m="get"} 5.65',
        'lat_seconds_count{m="get"} 5',
        "",
      ].join("\n"),
    );
  });

  test("an unlabeled histogram and collected gauges", () => {
    const r = new Registry();
    r.histogram("h_seconds", "h", [], [1]).child().observe(0.5);
    r.collect("g", "g", "gauge", ["k"], (emit) => {
      emit(3, "a");
      emit(Infinity, "b");
    });
    const text = r.render();
    expect(text).toContain('h_seconds_bucket{le="1"} 1\nh_seconds_bucket{le="+Inf"} 1\nh_seconds_sum 0.5\nh_seconds_count 1\n');
    expect(text).toContain('g{k="a"} 3\ng{k="b"} +Inf\n');
  });

  test("misuse is a TypeError when the family is made", () => {
    const r = new Registry();
    expect(() => r.counter("bad-name", "x")).toThrow(TypeError);
    expect(() => r.counter("ok_total", "x", ["__reserved"])).toThrow(TypeError);
    expect(() => r.histogram("h", "x", ["le"], [1])).toThrow(TypeError);
    expect(() => r.histogram("h2", "x", [], [2, 1])).toThrow(TypeError);
    r.counter("twice_total", "x");
    expect(() => r.counter("twice_total", "x")).toThrow(TypeError);
  });
});

// A call as the pipeline reports it when it ends (pipeline/observe.ts).
const alpha = { name: "alpha" } as Backend;
const toolRoute = (target: string, backend: Backend | null = alpha): Route => ({ kind: "tool", method: "tools/call", target, backend, params: {}, args: {} });
const asCall = (method: string) => ({ request: { jsonrpc: "2.0", id: 1, method } }) as unknown as Call;
const allowed: Verdict = { decision: "allowed", rule: null };
const none: Verdict = { decision: null, rule: null };
function ended(route: Route | null, over: Partial<Ended> = {}): Ended {
  return { route, verdict: allowed, error: null, toolError: false, cancelled: false, totalUs: 300, backendUs: 200, ...over };
}
const refused = (route: Route, error: SentinelError, verdict: Verdict = allowed): Ended => ended(route, { error, verdict, backendUs: 0, totalUs: 50 });

describe("call metrics", () => {
  function observe(calls: [method: string, how: Ended][]) {
    const registry = new Registry();
    const offered = new Set(["tool:alpha__echo", "prompt:alpha__greet"]);
    const names = { formerOwner: (kind: string, name: string) => (offered.has(`${kind}:${name}`) ? alpha : undefined), withheld: new Map([["alpha__changed", {}]]) };
    const m = new CallMetrics(registry, names);
    for (const [method, how] of calls) m.start(asCall(method)).ended(how);
    const lines = registry.render().split("\n");
    const value = (series: string) => {
      const line = lines.find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    return { lines, value };
  }
  const req = (method: string, backend: string, target: string, outcome: string, decision: string) =>
    `sentinel_requests_total{method="${method}",backend="${backend}",target="${target}",outcome="${outcome}",decision="${decision}"}`;

  test("outcomes and decisions, and the refusals among them", () => {
    const echo = toolRoute("alpha__echo");
    const { value } = observe([
      ["tools/call", ended(echo)],
      ["tools/call", ended(echo)],
      ["tools/call", ended(echo, { toolError: true })],
      ["tools/call", ended(echo, { cancelled: true, error: new BackendUnavailable("gone") })],
      ["tools/call", refused(echo, new UnknownTarget("tool", "alpha__echo"), { decision: "denied", rule: "deny" })],
      ["tools/call", refused(echo, new Disabled("tool", "alpha__echo"), { decision: "disabled", rule: null })],
      ["tools/call", refused(echo, new RateLimited("perIdentity", 1000), { decision: "rate_limited", rule: "perIdentity" })],
      ["tools/call", refused(echo, new BackendBusy("alpha", 2))],
      ["tools/call", refused(echo, new CircuitOpen("alpha", 5000))],
      // Forwarded, then its backend went away: an error, not a refusal.
      ["tools/call", ended(echo, { error: new BackendUnavailable("lost"), backendUs: 900 })],
    ]);
    expect(value(req("tools/call", "alpha", "alpha__echo", "ok", "allowed"))).toBe(2);
    expect(value(req("tools/call", "alpha", "alpha__echo", "error", "allowed"))).toBe(4); // tool error, busy, circuit, lost
    expect(value(req("tools/call", "alpha", "alpha__echo", "cancelled", "allowed"))).toBe(1);
    expect(value(req("tools/call", "alpha", "alpha__echo", "denied", "denied"))).toBe(1);
    expect(value(req("tools/call", "alpha", "alpha__echo", "denied", "disabled"))).toBe(1);
    expect(value(req("tools/call", "alpha", "alpha__echo", "denied", "rate_limited"))).toBe(1);
    for (const [reason, n] of [["rbac", 1], ["kill_switch", 1], ["rate_limit", 1], ["concurrency", 1], ["circuit_open", 1], ["unavailable", undefined]] as const) {
      expect(value(`sentinel_refusals_total{backend="alpha",reason="${reason}"}`)).toBe(n);
    }
    // Backend time for the calls that reached it; overhead for all ten.
    expect(value('sentinel_backend_request_duration_seconds_count{backend="alpha"}')).toBe(5);
    expect(value('sentinel_backend_request_duration_seconds_sum{backend="alpha"}')).toBeCloseTo((4 * 200 + 900) / 1e6, 9);
    expect(value('sentinel_gateway_overhead_seconds_count{method="tools/call"}')).toBe(10);
  });

  test("labels take no raw client input: unknown methods and names read as other, URIs are no label", () => {
    const calls: [string, Ended][] = [];
    for (let i = 0; i < 100; i++) {
      calls.push([`made/up/${i}`, ended(null, { verdict: none, error: new UnknownTarget("tool", "x"), backendUs: 0 })]);
      calls.push(["tools/call", ended(toolRoute(`nope${i}`, null), { verdict: none, error: new UnknownTarget("tool", `nope${i}`), backendUs: 0 })]);
      // A name with a down backend's prefix finds that backend, but is no catalog name (refused as unavailable).
      calls.push(["tools/call", refused(toolRoute(`alpha__guess${i}`), new BackendUnavailable("down"))]);
      calls.push(["resources/read", ended({ kind: "resource", method: "resources/read", target: `file:///${i}`, backend: alpha, params: {}, args: undefined })]);
    }
    calls.push(["prompts/get", ended({ kind: "prompt", method: "prompts/get", target: "alpha__greet", backend: alpha, params: {}, args: {} })]);
    calls.push(["tools/call", refused(toolRoute("alpha__changed"), new UnknownTarget("tool", "alpha__changed"), { decision: "unpinned", rule: null })]);
    const { lines, value } = observe(calls);
    const requests = lines.filter((l) => l.startsWith("sentinel_requests_total{"));
    expect(requests.sort()).toEqual(
      [
        `${req("other", "", "", "error", "none")} 100`,
        `${req("tools/call", "", "(other)", "error", "none")} 100`,
        `${req("tools/call", "alpha", "(other)", "error", "allowed")} 100`,
        `${req("resources/read", "alpha", "", "ok", "allowed")} 100`,
        `${req("prompts/get", "alpha", "alpha__greet", "ok", "allowed")} 1`,
        `${req("tools/call", "alpha", "alpha__changed", "denied", "unpinned")} 1`,
      ].sort(),
    );
    expect(value('sentinel_gateway_overhead_seconds_count{method="other"}')).toBe(100);
    expect(value('sentinel_refusals_total{backend="alpha",reason="unavailable"}')).toBe(100);
    expect(lines.filter((l) => l.includes("made/up") || l.includes("nope") || l.includes("guess") || l.includes("file://"))).toEqual([]);
  });

  test("a method never called shows no series", () => {
    const { lines } = observe([["ping", ended(null, { backendUs: 0 })]]);
    expect(lines.filter((l) => l.startsWith("sentinel_gateway_overhead_seconds_count"))).toEqual(['sentinel_gateway_overhead_seconds_count{method="ping"} 1']);
  });
});

describe("GET /metrics in-process", () => {
  const METRICS = "http://127.0.0.1/metrics";
  const TOKEN = "scrape-token-0123456789";
  const from = (address: string): ServerHooks => ({ streaming() {}, calling() {}, address: () => address });
  let open: Front;
  let guarded: Front;
  let off: Front;
  beforeAll(async () => {
    const anonymous = { identity: { anonymous: { roles: [] } } };
    [open, guarded, off] = await Promise.all([
      startFront(anonymous),
      startFront({ ...anonymous, metrics: { token: TOKEN } }),
      startFront({ ...anonymous, metrics: { enabled: false } }),
    ]);
  });
  afterAll(() => Promise.all([open.stop(), guarded.stop(), off.stop()]));

  test("calls made through the app are counted, in the text format's content type", async () => {
    const sid = await openSession(open.app);
    for (let i = 0; i < 3; i++) await (await post(open.app, call("tools/call", { name: "alpha__echo", arguments: { text: "x" } }), { "mcp-session-id": sid })).json();
    const res = await open.app.request(METRICS);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    expect(text).toContain('sentinel_requests_total{method="tools/call",backend="alpha",target="alpha__echo",outcome="ok",decision="allowed"} 3\n');
    expect(text).toContain('sentinel_sessions{front="http",era="legacy"} 1\n');
    expect(text).toContain('sentinel_backend_state{backend="alpha",state="ready"} 1\n');
  });

  test("without a token: loopback clients only, and only under a loopback Host", async () => {
    expect((await open.app.request(METRICS, {}, from("127.0.0.1"))).status).toBe(200);
    expect((await open.app.request(METRICS, {}, from("::1"))).status).toBe(200);
    expect((await open.app.request(METRICS, {}, from("::ffff:127.0.0.1"))).status).toBe(200);
    expect((await open.app.request(METRICS, {}, from("192.0.2.7"))).status).toBe(403);
    expect((await open.app.request(METRICS, {}, from("::ffff:10.0.0.1"))).status).toBe(403);
    // A rebound name reaches us from loopback under its own Host.
    const host = (h: string) => ({ headers: { host: h } });
    expect((await open.app.request(METRICS, host("evil.example"), from("127.0.0.1"))).status).toBe(403);
    expect((await open.app.request(METRICS, host("localhost:9090"), from("127.0.0.1"))).status).toBe(200);
  });

  test("with a token: required from any address, compared whole", async () => {
    const bearer = (t: string) => ({ headers: { authorization: `Bearer ${t}` } });
    const none = await guarded.app.request(METRICS, {}, from("127.0.0.1"));
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect((await guarded.app.request(METRICS, bearer(TOKEN.slice(0, -1)), from("192.0.2.7"))).status).toBe(401);
    expect((await guarded.app.request(METRICS, bearer(`${TOKEN}x`), from("192.0.2.7"))).status).toBe(401);
    expect((await guarded.app.request(METRICS, { headers: { authorization: TOKEN } }, from("192.0.2.7"))).status).toBe(401);
    const ok = await guarded.app.request(METRICS, bearer(TOKEN), from("192.0.2.7"));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain("# TYPE sentinel_requests_total counter\n");
  });

  test("metrics.enabled false: no route, and no observer on the calls", async () => {
    expect((await off.app.request(METRICS)).status).toBe(404);
    expect(off.gateway.metrics).toBeNull();
    expect(off.gateway.observers.length).toBe(0);
  });

  test("loopback addresses", () => {
    expect(["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"].every(loopbackAddress)).toBe(true);
    expect(["10.0.0.1", "::ffff:192.0.2.1", "fe80::1", "::", "0.0.0.0", "1270::1"].some(loopbackAddress)).toBe(false);
  });
});
