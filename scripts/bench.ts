// Prints latency, CPU and memory figures for the compiled gateway against the
// same backend reached directly. Run: bun scripts/bench.ts [calls]
// Uses a raw JSON-RPC client so that client overhead does not blur the numbers.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { jwtVerify, SignJWT } from "jose";

const ROOT = resolve(import.meta.dir, "..");
const BIN = join(ROOT, "dist/sentinel");
// Another way to run the gateway, e.g. "bun --cpu-prof-md --cpu-prof-dir=/tmp/prof src/main.ts" to profile it.
const GATEWAY = process.env.SENTINEL_BENCH_GATEWAY?.split(" ") ?? [BIN];
const FIXTURE = join(ROOT, "test/fixtures/echo-server.ts");
const CALLS = Number(process.argv[2] ?? 3000);
const WARMUP = 300;

type Rpc = { call(method: string, params?: object, modern?: boolean): Promise<any>; close(): void };

// A 2026-07-28 request carries its envelope in _meta (and, over HTTP, headers mirroring the body).
const MODERN_META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1" },
};
const withEnvelope = (params: object | undefined, modern?: boolean) => (modern ? { ...params, _meta: MODERN_META } : params);

function stdioRpc(cmd: string[], env?: Record<string, string>): { rpc: Rpc; proc: Bun.Subprocess } {
  const proc = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "ignore", env: { ...process.env, ...env } });
  const pending = new Map<number, (v: any) => void>();
  let id = 0;
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    for await (const chunk of proc.stdout) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) !== -1) {
        const msg = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (msg.id !== undefined) pending.get(msg.id)?.(msg), pending.delete(msg.id);
      }
    }
  })();
  const rpc: Rpc = {
    call(method, params, modern) {
      const n = ++id;
      return new Promise((r) => {
        pending.set(n, r);
        proc.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: n, method, params: withEnvelope(params, modern) }) + "\n");
        proc.stdin.flush();
      });
    },
    // Closing stdin lets the gateway shut down cleanly (and write a profile, if asked).
    close: () => void proc.stdin.end(),
  };
  return { rpc, proc };
}

function httpRpc(url: string): Rpc {
  let id = 0;
  let session: string | null = null;
  return {
    async call(method, params, modern) {
      const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream" };
      if (modern) {
        headers["mcp-protocol-version"] = "2026-07-28";
        headers["mcp-method"] = method;
        const name = (params as { name?: string } | undefined)?.name;
        if (name) headers["mcp-name"] = name;
      } else if (session) headers["mcp-session-id"] = session;
      if (GOVERNANCE) headers.authorization = `Bearer ${TOKEN}`;
      const res = await fetch(url, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: withEnvelope(params, modern) }) });
      if (!modern) session ??= res.headers.get("mcp-session-id");
      const type = res.headers.get("content-type") ?? "";
      const text = await res.text();
      if (type.includes("event-stream")) return JSON.parse(text.split("\n").find((l) => l.startsWith("data: "))!.slice(6));
      return JSON.parse(text);
    },
    close() {},
  };
}

const INIT = { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } };

async function measure(label: string, rpc: Rpc, tool: string, pid?: number, modern?: boolean) {
  for (let i = 0; i < WARMUP; i++) await rpc.call("tools/call", { name: tool, arguments: { text: "warm" } }, modern);
  const cpu0 = pid ? cpuNs(pid) : 0;
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    const res = await rpc.call("tools/call", { name: tool, arguments: { text: `call ${i}` } }, modern);
    times.push((performance.now() - t) * 1000);
    if (!res.result) throw new Error(`${label}: ${JSON.stringify(res)}`);
  }
  const cpuUs = pid ? (cpuNs(pid) - cpu0) / 1000 / CALLS : NaN;
  times.sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const pct = (p: number) => times[Math.floor(times.length * p)]!;
  console.log(
    `${label.padEnd(34)} mean ${mean.toFixed(0).padStart(5)} µs  p50 ${pct(0.5).toFixed(0).padStart(5)}  p99 ${pct(0.99).toFixed(0).padStart(6)}` +
      (pid ? `  gateway CPU ${cpuUs.toFixed(1)} µs/call` : ""),
  );
  return mean;
}

/**
 * CPU time of every thread of the process, in ns (/proc/PID/task/TID/schedstat).
 * utime + stime from /proc/PID/stat count 10 ms ticks: over 3,000 calls that is
 * 3 µs per call of quantisation, as large as the differences being measured.
 */
function cpuNs(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns;
}

/**
 * Resident memory in MB. RssFile (the binary's pages) moves by ~3 MB between two
 * builds of the same source, with the page cache (measured): compare RssAnon,
 * what the gateway itself allocated, across binaries.
 */
function rssMb(pid: number, field: "VmRSS" | "RssAnon" = "VmRSS"): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m![1]) / 1024;
}

/** Resolves with the first match, and keeps draining so the child never blocks or gets EPIPE. */
function waitLine(stream: ReadableStream<Uint8Array>, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    void (async () => {
      const decoder = new TextDecoder();
      let buf = "";
      let found = false;
      for await (const chunk of stream) {
        if (found) continue;
        buf += decoder.decode(chunk);
        const m = re.exec(buf);
        if (m) (found = true), resolve(m[1]!);
      }
      if (!found) reject(new Error(`never saw ${re}`));
    })();
  });
}

// SENTINEL_BENCH_GOVERNANCE=on: callers bring a JWT (HS256) and pass RBAC and a
// rate limit on every call, to measure what the governance pipeline costs.
const GOVERNANCE = process.env.SENTINEL_BENCH_GOVERNANCE === "on";
const SECRET = "bench-secret-0123456789abcdefghijklmnop";
const TOKEN = await new SignJWT({ roles: ["bench"] })
  .setProtectedHeader({ alg: "HS256" })
  .setSubject("bench")
  .setAudience("sentinel")
  .setExpirationTime("1h")
  .sign(new TextEncoder().encode(SECRET));
const governance = GOVERNANCE
  ? {
      auth: { jwt: { secret: SECRET } },
      rbac: { roles: { bench: { allow: [{ tools: "echo__*" }], deny: [{ tools: "*__crash" }] } } },
      rateLimits: { perIdentity: "1000000/min" },
    }
  : { identity: { anonymous: { roles: [] } } };

// SENTINEL_BENCH_METRICS=off turns /metrics (and its counting) off; SENTINEL_BENCH_TRACING=on exports
// every call's spans to a local OTLP sink that only counts them. A build before either: leave both unset
// ("{}" config keys it would refuse are not written then).
const METRICS = process.env.SENTINEL_BENCH_METRICS;
const TRACING = process.env.SENTINEL_BENCH_TRACING === "on";
let spansReceived = 0;
const sink = TRACING
  ? Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(req) {
        const body = (await req.json()) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
        for (const r of body.resourceSpans ?? []) for (const sc of r.scopeSpans ?? []) spansReceived += sc.spans?.length ?? 0;
        return new Response("{}", { headers: { "content-type": "application/json" } });
      },
    })
  : null;
const ops = {
  ...(METRICS && { metrics: { enabled: METRICS !== "off" } }),
  ...(sink && { tracing: { endpoint: `http://127.0.0.1:${sink.port}/v1/traces` } }),
};

const dir = mkdtempSync(join(tmpdir(), "sentinel-bench-"));
const config = join(dir, "sentinel.json");
writeFileSync(
  config,
  JSON.stringify({
    ...governance,
    ...ops,
    // SENTINEL_BENCH_AUDIT=off measures what the audit trail costs.
    audit: { path: join(dir, "audit.db"), enabled: process.env.SENTINEL_BENCH_AUDIT !== "off" },
    backends: {
      echo: { command: process.execPath, args: [FIXTURE, "--name", "echo"] },
      other: { command: process.execPath, args: [FIXTURE, "--name", "other"] },
    },
  }),
);

console.log(
  `sentinel bench: ${CALLS} sequential tools/call per row (after ${WARMUP} warm-up), governance ${GOVERNANCE ? "on (JWT + RBAC + rate limit)" : "off (anonymous)"}, metrics ${METRICS ?? "default"}, tracing ${TRACING ? "on" : "off"}, ${new Date().toISOString()}`,
);
console.log(`binary: ${(Bun.file(BIN).size / 1024 / 1024).toFixed(1)} MB`);

// 1. The backend directly over stdio, then through the gateway's stdio front.
const direct = stdioRpc([process.execPath, FIXTURE, "--name", "echo"]);
await direct.rpc.call("initialize", INIT);
const base = await measure("direct stdio (SDK server)", direct.rpc, "echo");
direct.rpc.close();

const gw = stdioRpc([...GATEWAY, "--config", config], GOVERNANCE ? { SENTINEL_TOKEN: TOKEN } : {});
await gw.rpc.call("initialize", INIT);
// SENTINEL_BENCH_TOOL: the name to call through the gateway (a bare relay has no prefixes).
const viaStdio = await measure("through sentinel stdio front", gw.rpc, process.env.SENTINEL_BENCH_TOOL ?? "echo__echo", gw.proc.pid);
console.log(`${"".padEnd(34)} overhead ${(viaStdio - base).toFixed(0)} µs/call`);
// The same process serves 2026-07-28 requests next to the 2025 session (dual era): their cost per call.
// SENTINEL_BENCH_MODERN=off leaves them out (a gateway built before it spoke 2026-07-28).
const MODERN = process.env.SENTINEL_BENCH_MODERN !== "off";
if (MODERN) await measure("  ... as 2026-07-28 requests", gw.rpc, process.env.SENTINEL_BENCH_TOOL ?? "echo__echo", gw.proc.pid, true);
gw.rpc.close();
await gw.proc.exited;
if (process.env.SENTINEL_BENCH_STDIO_ONLY) process.exit(0);

// 2. The HTTP front: idle memory with two backends, then calls.
const http = Bun.spawn([...GATEWAY, "serve", "--http", "--port", "0", "--config", config], { stdout: "ignore", stderr: "pipe" });
const url = await waitLine(http.stderr, /listening on (\S+)/);
await Bun.sleep(2000);
const idle = rssMb(http.pid);
const idleAnon = rssMb(http.pid, "RssAnon");
const hrpc = httpRpc(url);
await hrpc.call("initialize", INIT);
const viaHttp = await measure("through sentinel http front", hrpc, "echo__echo", http.pid);
console.log(`${"".padEnd(34)} overhead vs direct stdio ${(viaHttp - base).toFixed(0)} µs/call`);
if (MODERN) await measure("  ... as 2026-07-28 requests", hrpc, "echo__echo", http.pid, true);
console.log(
  `idle RSS of serve --http, 2 stdio backends: ${idle.toFixed(1)} MB (anonymous ${idleAnon.toFixed(1)} MB); after the run: ${rssMb(http.pid).toFixed(1)} MB (anonymous ${rssMb(http.pid, "RssAnon").toFixed(1)} MB)`,
);
http.kill();
await http.exited;

// 3. The same backend over Streamable HTTP, directly, for scale.
const fixtureHttp = Bun.spawn([process.execPath, FIXTURE, "--name", "echo", "--transport", "http"], { stdout: "pipe", stderr: "ignore" });
const fixtureUrl = await waitLine(fixtureHttp.stdout, /LISTENING (\S+)/);
const drpc = httpRpc(fixtureUrl);
await drpc.call("initialize", INIT);
await measure("direct http (SDK server)", drpc, "echo");
fixtureHttp.kill();

// What verifying a JWT would cost per call if verified tokens were not cached.
const key = new TextEncoder().encode(SECRET);
for (let i = 0; i < 200; i++) await jwtVerify(TOKEN, key, { audience: "sentinel" });
const t = performance.now();
for (let i = 0; i < 2000; i++) await jwtVerify(TOKEN, key, { audience: "sentinel" });
console.log(`jose HS256 verification, uncached: ${(((performance.now() - t) * 1000) / 2000).toFixed(1)} µs per token`);
if (sink) console.log(`spans received by the OTLP sink: ${spansReceived}`);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
