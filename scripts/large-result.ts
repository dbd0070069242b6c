// Prints what a large tools/call result costs through the compiled gateway, on
// each front and through each backend transport: time to the whole answer,
// against the same backend reached directly, and how far the gateway's peak RSS
// rises above its RSS before the call. Run: bun scripts/large-result.ts [MiB]
// (Linux: reads /proc and resets the peak with /proc/PID/clear_refs.)

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { payload } from "../test/fixtures/payload.ts";
import { lines } from "./bench/clients.ts";

const ROOT = resolve(import.meta.dir, "..");
const BIN = join(ROOT, "dist/sentinel");
const FIXTURE = join(ROOT, "test/fixtures/echo-server.ts");
const MIB = Number(process.argv[2] ?? 20);
const BYTES = MIB * 1024 * 1024;
const EXPECTED = payload(BYTES);
const INIT = { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "large", version: "1" } };
const CALL = { name: "big__big", arguments: { bytes: BYTES, varied: true } };

type Answer = { result?: { content: { text: string }[] }; error?: unknown };

function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}

/** Resets the process's peak RSS (VmHWM) to its current RSS. */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}


function stdioClient(cmd: string[]) {
  const proc = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  const waiting = new Map<number, (a: Answer) => void>();
  let id = 0;
  void lines(proc.stdout, (line) => {
    const m = JSON.parse(line);
    waiting.get(m.id)?.(m);
  });
  return {
    proc,
    call(method: string, params: object): Promise<Answer> {
      const n = ++id;
      proc.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: n, method, params }) + "\n");
      proc.stdin.flush();
      return new Promise((r) => waiting.set(n, r));
    },
    close: () => proc.kill(),
  };
}

function httpClient(url: string) {
  let session: string | null = null;
  let id = 0;
  return {
    async call(method: string, params: object): Promise<Answer> {
      const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream" };
      if (session) headers["mcp-session-id"] = session;
      const res = await fetch(url, { method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }) });
      session ??= res.headers.get("mcp-session-id");
      const text = await res.text();
      if ((res.headers.get("content-type") ?? "").includes("event-stream")) {
        const data = text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
        return JSON.parse(data.at(-1)!);
      }
      return JSON.parse(text);
    },
  };
}

async function waitLine(stream: ReadableStream<Uint8Array>, re: RegExp): Promise<string> {
  const decoder = new TextDecoder();
  let buf = "";
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`never saw ${re}`);
    buf += decoder.decode(value);
    const m = re.exec(buf);
    if (m) {
      void (async () => {
        while (!(await reader.read()).done);
      })();
      return m[1]!;
    }
  }
}

function check(label: string, answer: Answer): void {
  const text = answer.result?.content?.[0]?.text;
  if (text !== EXPECTED) throw new Error(`${label}: the result differs (${text?.length ?? JSON.stringify(answer).slice(0, 200)})`);
}

const dir = mkdtempSync(join(tmpdir(), "sentinel-large-"));
const rows: string[] = [];

// http: Streamable HTTP answering with SSE streams; http-json: with JSON bodies; sse: the legacy transport.
for (const backend of ["stdio", "http", "http-json", "sse"] as const) {
  const flags = backend === "http-json" ? ["--transport", "http", "--json"] : ["--transport", backend];
  const fixture = backend === "stdio" ? null : Bun.spawn([process.execPath, FIXTURE, "--name", "big", ...flags], { stdout: "pipe", stderr: "ignore" });
  const url = fixture ? await waitLine(fixture.stdout, /LISTENING (\S+)/) : null;
  const backendConfig = url ? { url, ...(backend === "sse" && { type: "sse" }) } : { command: process.execPath, args: [FIXTURE, "--name", "big"] };

  // The floor: the same backend, called directly.
  let direct = NaN;
  if (backend !== "sse") {
    const client = url ? httpClient(url) : stdioClient([process.execPath, FIXTURE, "--name", "big"]);
    await client.call("initialize", INIT);
    const t = performance.now();
    check("direct", await client.call("tools/call", { ...CALL, name: "big" }));
    direct = performance.now() - t;
    if ("close" in client) (client.close as () => void)();
  }

  const config = join(dir, `${backend}.json`);
  writeFileSync(config, JSON.stringify({ identity: { anonymous: { roles: [] } }, audit: { path: join(dir, "audit.db") }, backends: { big: backendConfig } }));
  for (const front of ["stdio", "http"] as const) {
    let pid: number;
    let client: { call(m: string, p: object): Promise<Answer> };
    let stop: () => void;
    if (front === "stdio") {
      const c = stdioClient([BIN, "--config", config]);
      pid = c.proc.pid;
      client = c;
      stop = c.close;
    } else {
      const proc = Bun.spawn([BIN, "serve", "--http", "--port", "0", "--config", config], { stdout: "ignore", stderr: "pipe" });
      const gatewayUrl = await waitLine(proc.stderr, /listening on (\S+)/);
      pid = proc.pid;
      client = httpClient(gatewayUrl);
      stop = () => proc.kill();
    }
    await client.call("initialize", INIT);
    await client.call("tools/call", { name: "big__big", arguments: { bytes: 1024, varied: true } });
    Bun.gc(true);
    const before = statusKb(pid, "VmRSS");
    resetPeak(pid);
    const t = performance.now();
    const answer = await client.call("tools/call", CALL);
    const ms = performance.now() - t;
    check(`${front} -> ${backend}`, answer);
    const rise = (statusKb(pid, "VmHWM") - before) / 1024;
    rows.push(
      `${`${front} front -> ${backend} backend`.padEnd(30)} ${ms.toFixed(0).padStart(6)} ms` +
        `  (direct ${Number.isNaN(direct) ? "  n/a" : direct.toFixed(0).padStart(5)} ms)` +
        `  RSS before ${(before / 1024).toFixed(1).padStart(5)} MB, peak rise ${rise.toFixed(1).padStart(5)} MB = ${(rise / MIB).toFixed(2)}x the result`,
    );
    stop();
  }
  fixture?.kill();
}

console.log(`sentinel large results: one ${MIB} MiB tools/call result (varied text), byte for byte, ${new Date().toISOString()}`);
for (const r of rows) console.log(r);
rmSync(dir, { recursive: true, force: true });
process.exit(0);
