// GET /metrics of the compiled binary: a known sequence of calls gives known
// counts, read back by real Prometheus parsers (promtool's linter, and the
// official Python client's parser for the values); who may scrape, from a
// loopback and a non-loopback address.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import { nextLog, rawHttp, startHttpGateway, stdioFixture, tempDir, writeConfig, type HttpGateway, type RawHttp } from "./harness.ts";

// Installed by .ci/run (Debian's prometheus and python3-prometheus-client), which sets
// SENTINEL_REQUIRE_PARSERS so that they cannot be missing there; elsewhere the tests that
// need them are skipped with a note when they are not installed.
const PROMTOOL = Bun.which("promtool");
const PYTHON = "/usr/bin/python3";
const HAS_PARSERS = Boolean(PROMTOOL) && Bun.spawnSync([PYTHON, "-c", "import prometheus_client.parser"], { stderr: "ignore" }).exitCode === 0;
if (!HAS_PARSERS && !process.env.SENTINEL_REQUIRE_PARSERS) {
  console.warn("metrics.test.ts: promtool or python3-prometheus-client is not installed: skipping the parser checks (apt-get install prometheus python3-prometheus-client)");
}
/** A test that reads the scrape with the real parsers. */
const parsed = test.skipIf(!HAS_PARSERS && !process.env.SENTINEL_REQUIRE_PARSERS);
const PARSE = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        v = s.value
        out.append({"type": f.type, "name": s.name, "labels": s.labels, "value": v if math.isfinite(v) else str(v)})
print(json.dumps(out))
`;

type Sample = { type: string; name: string; labels: Record<string, string>; value: number | string };

async function promtool(text: string): Promise<{ code: number; output: string }> {
  if (!PROMTOOL) throw new Error("promtool is missing: apt-get install -y prometheus (see .ci/run)");
  const proc = Bun.spawn([PROMTOOL, "check", "metrics"], { stdin: new Blob([text]), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: out + err };
}

/** Every sample, as the official Python client parses the text. */
async function parse(text: string): Promise<Sample[]> {
  const proc = Bun.spawn([PYTHON, "-c", PARSE], { stdin: new Blob([text]), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`the Python parser refused the text (apt-get install -y python3-prometheus-client): ${err}`);
  return JSON.parse(out);
}

/** The samples named `name`, as "label=value,..." (sorted) -> value. */
function series(samples: Sample[], name: string): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const s of samples.filter((x) => x.name === name)) {
    out[Object.entries(s.labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join(",")] = s.value;
  }
  return out;
}

/** This machine's first non-loopback IPv4 address: a scrape from it is not a loopback client's. */
function outsideAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    const a = list?.find((i) => i.family === "IPv4" && !i.internal);
    if (a) return a.address;
  }
  throw new Error("no non-loopback IPv4 address to scrape from");
}

const port = (gw: HttpGateway) => new URL(gw.url).port;
const scrape = (gw: HttpGateway, host: string, headers: Record<string, string> = {}) => fetch(`http://${host}:${port(gw)}/metrics`, { headers });

describe("counts of a known sequence of calls", () => {
  let gw: HttpGateway;
  let mcp: RawHttp;
  let id = 100;
  const callTool = async (name: string, args: Record<string, unknown> = {}) => {
    const res = await mcp.post(JSON.stringify({ jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name, arguments: args } }));
    return (await res.json()) as { result?: unknown; error?: { code: number } };
  };

  beforeAll(async () => {
    const config = writeConfig(tempDir(), {
      identity: { anonymous: { roles: ["dev"] } },
      rbac: { roles: { dev: { allow: [{ tools: "echo__*" }], deny: [{ tools: "echo__whoami" }] } } },
      rateLimits: { tools: { echo__sleep: "1/min" } },
      disabledTools: ["echo__fail"],
      backends: { echo: stdioFixture("echo") },
    });
    // Bound to every address, so that the same gateway can be reached from a non-loopback one.
    gw = await startHttpGateway(config, ["--host", "0.0.0.0"]);
    mcp = await rawHttp(`http://127.0.0.1:${port(gw)}/mcp`);
    for (let i = 0; i < 3; i++) expect((await callTool("echo__echo", { text: `call ${i}` })).result).toBeDefined();
    expect((await callTool("echo__whoami")).error?.code).toBe(-32602); // RBAC: reads as unknown
    expect((await callTool("echo__fail")).error?.code).toBe(-32031); // kill switch
    expect((await callTool("echo__sleep", { ms: 1 })).result).toBeDefined();
    expect((await callTool("echo__sleep", { ms: 1 })).error?.code).toBe(-32029); // rate limit
    expect((await callTool("no_such_tool")).error?.code).toBe(-32602);
    const bogus = await mcp.post(JSON.stringify({ jsonrpc: "2.0", id: ++id, method: "bogus/method", params: {} }));
    expect(((await bogus.json()) as { error: { code: number } }).error.code).toBe(-32601);
  });
  afterAll(() => gw?.stop());

  parsed("the scrape passes promtool's linter", async () => {
    const res = await scrape(gw, "127.0.0.1");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const { code, output } = await promtool(await res.text());
    expect(output).toBe("");
    expect(code).toBe(0);
  });

  parsed("requests and refusals are exactly those of the sequence", async () => {
    const samples = await parse(await (await scrape(gw, "127.0.0.1")).text());
    const r = (method: string, backend: string, target: string, outcome: string, decision: string) =>
      `backend=${backend},decision=${decision},method=${method},outcome=${outcome},target=${target}`;
    expect(series(samples, "sentinel_requests_total")).toEqual({
      [r("initialize", "", "", "ok", "none")]: 1,
      [r("tools/call", "echo", "echo__echo", "ok", "allowed")]: 3,
      [r("tools/call", "echo", "echo__whoami", "denied", "denied")]: 1,
      [r("tools/call", "echo", "echo__fail", "denied", "disabled")]: 1,
      [r("tools/call", "echo", "echo__sleep", "ok", "allowed")]: 1,
      [r("tools/call", "echo", "echo__sleep", "denied", "rate_limited")]: 1,
      [r("tools/call", "", "(other)", "error", "none")]: 1,
      [r("other", "", "", "error", "none")]: 1,
    });
    expect(series(samples, "sentinel_refusals_total")).toEqual({
      "backend=echo,reason=rbac": 1,
      "backend=echo,reason=kill_switch": 1,
      "backend=echo,reason=rate_limit": 1,
    });
  });

  parsed("histograms: backend time for the 4 forwarded calls, overhead for every request; buckets add up", async () => {
    const samples = await parse(await (await scrape(gw, "127.0.0.1")).text());
    expect(series(samples, "sentinel_backend_request_duration_seconds_count")).toEqual({ "backend=echo": 4 });
    expect(series(samples, "sentinel_gateway_overhead_seconds_count")).toEqual({ "method=initialize": 1, "method=tools/call": 8, "method=other": 1 });
    expect(series(samples, "sentinel_backend_request_duration_seconds_sum")["backend=echo"]).toBeGreaterThan(0);
    for (const family of ["sentinel_backend_request_duration_seconds", "sentinel_gateway_overhead_seconds"]) {
      const counts = series(samples, `${family}_count`);
      for (const [labels, count] of Object.entries(counts)) {
        const buckets = samples.filter((s) => s.name === `${family}_bucket` && Object.entries(s.labels).every(([k, v]) => k === "le" || labels.includes(`${k}=${v}`)));
        const values = buckets.map((b) => b.value as number);
        expect(values).toEqual([...values].sort((a, b) => a - b));
        expect(buckets.at(-1)).toMatchObject({ labels: { le: "+Inf" }, value: count });
      }
    }
  });

  parsed("the gateway's state: backends, sessions, calls in flight, audit, process", async () => {
    const samples = await parse(await (await scrape(gw, "127.0.0.1")).text());
    const one = (name: string) => series(samples, name);
    expect(one("sentinel_backend_state")).toMatchObject({ "backend=echo,state=ready": 1, "backend=echo,state=down": 0 });
    expect(Object.values(one("sentinel_backend_state")).reduce((a, b) => (a as number) + (b as number), 0)).toBe(1);
    expect(one("sentinel_backend_era")).toMatchObject({ "backend=echo,era=legacy": 1, "backend=echo,era=modern": 0 });
    expect(one("sentinel_backend_circuit_state")).toMatchObject({ "backend=echo,state=closed": 1 });
    expect(one("sentinel_sessions")).toEqual({ "era=legacy,front=http": 1, "era=modern,front=http": 0, "era=legacy,front=stdio": 0, "era=modern,front=stdio": 0 });
    expect(one("sentinel_listens")).toEqual({ "front=http": 0, "front=stdio": 0 });
    expect(one("sentinel_calls_in_flight")).toEqual({ "": 0 });
    // Every request's audit row is either queued or written, whenever the scrape lands.
    const audited = (one("sentinel_audit_queue_rows")[""] as number) + (one("sentinel_audit_rows_written_total")[""] as number);
    expect(audited).toBe(10);
    expect(one("process_resident_memory_bytes")[""]).toBeGreaterThan(10 * 1024 * 1024);
    const start = one("process_start_time_seconds")[""] as number;
    expect(start).toBeLessThanOrEqual(Date.now() / 1000);
    expect(start).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(one("process_cpu_seconds_total")[""]).toBeGreaterThan(0);
    expect(one("process_open_fds")[""]).toBeGreaterThan(3);
  });

  parsed("a lost backend connection counts as a restart; the call it broke is an error, not a refusal", async () => {
    const reconnecting = nextLog(gw.stderr, /\[echo\].*reconnecting in/);
    expect((await callTool("echo__crash")).error?.code).toBe(-32000);
    await reconnecting;
    const samples = await parse(await (await scrape(gw, "127.0.0.1")).text());
    expect(series(samples, "sentinel_backend_restarts_total")).toEqual({ "backend=echo": 1 });
    expect(series(samples, "sentinel_requests_total")["backend=echo,decision=allowed,method=tools/call,outcome=error,target=echo__crash"]).toBe(1);
    expect(Object.keys(series(samples, "sentinel_refusals_total"))).toEqual(["backend=echo,reason=rbac", "backend=echo,reason=kill_switch", "backend=echo,reason=rate_limit"]);
  });

  test("without a token, a scrape from a non-loopback address is refused", async () => {
    const res = await scrape(gw, outsideAddress());
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain("sentinel_");
  });
});

describe("with metrics.token", () => {
  const TOKEN = "e2e-metrics-token-0123456789";
  let gw: HttpGateway;
  beforeAll(async () => {
    const config = writeConfig(tempDir(), { identity: { anonymous: { roles: [] } }, metrics: { token: TOKEN }, backends: { echo: stdioFixture("echo") } });
    gw = await startHttpGateway(config, ["--host", "0.0.0.0"]);
    // The front listens before its backends are up; the last test reads the backend's state.
    const ready = /\[echo\] ready/;
    if (!ready.test(gw.stderr())) await nextLog(gw.stderr, ready);
  });
  afterAll(() => gw?.stop());

  test("a non-loopback scrape without the token, or with another, is refused", async () => {
    const host = outsideAddress();
    const none = await scrape(gw, host);
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="metrics"');
    expect((await scrape(gw, host, { authorization: `Bearer ${TOKEN}0` })).status).toBe(401);
    // The token is required from loopback too.
    expect((await scrape(gw, "127.0.0.1")).status).toBe(401);
  });

  parsed("with the token it is accepted, and parses", async () => {
    const res = await scrape(gw, outsideAddress(), { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect((await promtool(text)).code).toBe(0);
    expect(series(await parse(text), "sentinel_backend_state")).toMatchObject({ "backend=echo,state=ready": 1 });
  });
});
