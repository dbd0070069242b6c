// Drives the compiled binary (dist/sentinel) against real MCP servers: our SDK
// fixture (stdio, Streamable HTTP, SSE) and @modelcontextprotocol/server-everything.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AuditRecord } from "../../src/audit/query.ts";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
export const BIN = join(ROOT, "dist/sentinel");
export const BUN = process.execPath;
export const FIXTURE = join(ROOT, "test/fixtures/echo-server.ts");
export const EVERYTHING = join(ROOT, "node_modules/@modelcontextprotocol/server-everything/dist/index.js");
export const NODE = Bun.which("node") ?? "node";

if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm test" (it builds first) or "npm run build"`);

const made: string[] = [];
// Test files run in one process: their temporary directories go when it exits.
process.on("exit", () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sentinel-test-"));
  made.push(dir);
  return dir;
}

/** An echo fixture backend run by the gateway over stdio. */
export function stdioFixture(name: string, extra: Record<string, unknown> = {}) {
  return { command: BUN, args: [FIXTURE, "--name", name], ...extra };
}

export type Spawned = { url: string; proc: Bun.Subprocess; stop(): Promise<void> };

/** Starts a fixture over HTTP or legacy SSE and waits for its URL; `extra` are more fixture flags (e.g. --json). */
export async function startFixture(name: string, transport: "http" | "sse", extra: string[] = []): Promise<Spawned> {
  const proc = Bun.spawn([BUN, FIXTURE, "--name", name, "--transport", transport, ...extra], { stdout: "pipe", stderr: "ignore" });
  const url = await readLine(proc.stdout, /^LISTENING (\S+)/);
  return { url, proc, stop: () => kill(proc) };
}

export function writeConfig(dir: string, config: Record<string, unknown>): string {
  const path = join(dir, "sentinel.json");
  const withAudit = { ...config, audit: { path: join(dir, "audit.db"), ...(config.audit as object) } };
  writeFileSync(path, JSON.stringify(withAudit, null, 2));
  return path;
}

export type Gateway = { client: Client; stderr: () => string; close(): Promise<void> };

/** Starts the binary on stdio, as Claude Code does, and connects an SDK client. */
export async function connectStdio(config: string | { args: string[] }, env: Record<string, string> = {}): Promise<Gateway> {
  const transport = new StdioClientTransport({
    command: BIN,
    args: typeof config === "string" ? ["--config", config] : config.args,
    env: { ...getDefaultEnvironment(), ...env },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: "e2e", version: "1.0.0" });
  await client.connect(transport);
  return { client, stderr: () => stderr, close: () => client.close() };
}

export type HttpGateway = Spawned & { stderr: () => string };

/** Starts `sentinel serve --http` on a free port and waits until it listens. */
export async function startHttpGateway(configPath: string, extraArgs: string[] = [], env: Record<string, string> = {}): Promise<HttpGateway> {
  const proc = Bun.spawn([BIN, "serve", "--http", "--port", "0", "--config", configPath, ...extraArgs], {
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, ...env },
  });
  let stderr = "";
  const url = await readLine(proc.stderr, /listening on (\S+)/, (line) => (stderr += line + "\n"));
  return { url, proc, stderr: () => stderr, stop: () => kill(proc) };
}

export async function connectHttp(url: string): Promise<Client> {
  const client = new Client({ name: "e2e-http", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([BIN, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env }, ...(cwd && { cwd }) });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

export type { AuditRecord };

export async function auditRows(configPath: string, filters: string[] = []): Promise<AuditRecord[]> {
  const { code, stdout, stderr } = await runCli(["audit", "--config", configPath, "--json", "--limit", "1000", ...filters]);
  if (code !== 0) throw new Error(`sentinel audit failed: ${stderr}`);
  return stdout.trim() ? stdout.trim().split("\n").map((l) => JSON.parse(l)) : [];
}

/** Polls until `check` returns a truthy value or the time runs out. */
export async function eventually<T>(check: () => Promise<T> | T, ms = 10_000, every = 100): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms${last ? `: ${last}` : ""}`);
    await Bun.sleep(every);
  }
}

export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => c.text ?? "").join("");
}

async function readLine(stream: ReadableStream<Uint8Array>, pattern: RegExp, onLine?: (line: string) => void): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      onLine?.(line);
      const m = pattern.exec(line);
      if (m) {
        // Keep draining so the child never blocks on a full pipe.
        void (async () => {
          for (;;) {
            const r = await reader.read().catch(() => ({ done: true, value: undefined }));
            if (r.done) return;
            const text = decoder.decode(r.value);
            for (const l of text.split("\n")) if (l) onLine?.(l);
          }
        })();
        return m[1]!;
      }
    }
  }
  throw new Error(`no line matching ${pattern} (got: ${buffer.slice(0, 500)})`);
}

async function kill(proc: Bun.Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 5000);
  await proc.exited;
  clearTimeout(timer);
}

export type RawStdio = {
  proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
  write(text: string | Uint8Array): void;
  /** The next JSON line the gateway writes to stdout. */
  next(ms?: number): Promise<Record<string, any>>;
  stderr(): string;
  close(): Promise<number>;
};

/** The binary on stdio with raw byte access, for framing and bad-input tests. */
export function rawStdio(configPath: string): RawStdio {
  const proc = Bun.spawn([BIN, "--config", configPath], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let err = "";
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of proc.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const w = waiters.shift();
        if (w) w(line);
        else lines.push(line);
      }
    }
  })();
  void (async () => {
    for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
  })();
  return {
    proc,
    write(text) {
      proc.stdin.write(text);
      proc.stdin.flush();
    },
    next(ms = 10_000) {
      const ready = lines.shift();
      if (ready !== undefined) return Promise.resolve(JSON.parse(ready));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no output within ${ms} ms; stderr: ${err.slice(-500)}`)), ms);
        waiters.push((line) => {
          clearTimeout(timer);
          resolve(JSON.parse(line));
        });
      });
    },
    stderr: () => err,
    async close() {
      proc.stdin.end();
      return proc.exited;
    },
  };
}

export const INIT = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
};

export type RawHttp = {
  session: string;
  /** POSTs a raw body into the session. */
  post(body: string, headers?: Record<string, string>): Promise<Response>;
};

/** An initialized session on the HTTP front, for raw bodies (bad-input and framing tests). */
export async function rawHttp(url: string): Promise<RawHttp> {
  const post = (session: string | null, body: string, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...(session && { "mcp-session-id": session }), ...headers },
      body,
    });
  const res = await post(null, JSON.stringify(INIT));
  if (res.status !== 200) throw new Error(`initialize: HTTP ${res.status}: ${await res.text()}`);
  await res.text();
  const session = res.headers.get("mcp-session-id")!;
  const initialized = await post(session, JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
  if (initialized.status !== 202) throw new Error(`notifications/initialized: HTTP ${initialized.status}`);
  return { session, post: (body, headers) => post(session, body, headers) };
}

export type StdioRpc = {
  proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
  /** Sends a request; resolves with its response, or null if the gateway went away first. */
  call(method: string, params?: Record<string, unknown>): Promise<Record<string, any> | null>;
  notify(method: string): void;
  stderr(): string;
  close(): Promise<number>;
};

/** The binary on stdio with responses matched by id, for many calls in flight at once. */
export function stdioRpc(configPath: string): StdioRpc {
  const proc = Bun.spawn([BIN, "--config", configPath], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  const pending = new Map<number, (m: Record<string, any> | null) => void>();
  let id = 0;
  let err = "";
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of proc.stdout) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffer.indexOf("\n")) !== -1) {
        const m = JSON.parse(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        if (typeof m.id === "number") pending.get(m.id)?.(m), pending.delete(m.id);
      }
    }
    for (const resolve of pending.values()) resolve(null);
    pending.clear();
  })();
  void (async () => {
    for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
  })();
  return {
    proc,
    call(method, params) {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(null);
      const n = ++id;
      return new Promise((resolve) => {
        pending.set(n, resolve);
        try {
          proc.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: n, method, params }) + "\n");
          proc.stdin.flush();
        } catch {
          pending.delete(n);
          resolve(null); // killed meanwhile
        }
      });
    },
    notify(method) {
      proc.stdin.write(JSON.stringify({ jsonrpc: "2.0", method }) + "\n");
      proc.stdin.flush();
    },
    stderr: () => err,
    async close() {
      proc.stdin.end();
      return proc.exited;
    },
  };
}

const TAP = join(ROOT, "test/fixtures/request-tap.ts");

/** stdioFixture whose backend also logs each request it receives (test/fixtures/request-tap.ts). */
export function tappedFixture(name: string, extra: Record<string, unknown> = {}) {
  return { command: BUN, args: ["--preload", TAP, FIXTURE, "--name", name], ...extra };
}

/**
 * Resolves once `stderr()` holds more lines matching `pattern` than when it was
 * called: call it before the action whose log line it waits for. Polled, because
 * the gateways above expose their stderr as text.
 */
export function nextLog(stderr: () => string, pattern: RegExp, ms = 10_000): Promise<void> {
  const all = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : pattern.flags + "g");
  const count = () => stderr().match(all)?.length ?? 0;
  const before = count();
  return eventually(() => count() > before, ms, 10).then(() => undefined);
}
