// Real Claude Code (the pinned @anthropic-ai/claude-code devDependency) against
// both fronts of the compiled gateway: `claude mcp add` registers the stdio and
// the HTTP front, and `claude mcp list` health-checks them (server/discover
// probe, fallback to initialize, tools/list). No login, no network beyond
// localhost: HOME, XDG dirs and CLAUDE_CONFIG_DIR point into a temp dir, and
// telemetry, error reporting, auto-update and other non-essential traffic are off.
//
// Each front is registered twice: with the default config (modern: 2026-07-28
// enabled) and with `modern: { enabled: false }`. What Claude Code sends is
// observed on the wire, in front of Sentinel: the stdio front through a tap
// process that Claude Code launches and that runs the gateway (it logs every
// line in both directions), the HTTP front through a forwarding proxy in this
// process. With modern on, Claude Code must get an answer to server/discover
// and never send initialize; with it off, it must fall back to initialize.
// Both must end "✔ Connected".

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BIN, BUN, NODE, ROOT, startHttpGateway, stdioFixture, tempDir, writeConfig, type HttpGateway } from "./harness.ts";

const PKG = join(ROOT, "node_modules/@anthropic-ai/claude-code");
const MODERN = "2026-07-28";

/**
 * How to launch `claude`. The package's postinstall copies the native binary over
 * bin/claude.exe (a 500-byte shell stub until then); with --ignore-scripts we fall
 * back to its cli-wrapper.cjs, which finds the platform package and runs that.
 */
function claudeCommand(): string[] {
  const exe = join(PKG, "bin/claude.exe");
  if (!existsSync(exe)) throw new Error(`${PKG} is missing: run "npm install" (@anthropic-ai/claude-code is a devDependency)`);
  return statSync(exe).size > 64 * 1024 ? [exe] : [NODE, join(PKG, "cli-wrapper.cjs")];
}


type Run = { code: number | null; stdout: string; stderr: string; ms: number };
/** One JSON-RPC message seen on the wire: `in` went to Sentinel, `out` came from it. */
type Wire = { dir: "in" | "out"; msg: Record<string, any>; header?: string | null; status?: number };

let dir: string;
let home: string;
let project: string;
let list: Run;
let listContext: string;
const gateways: HttpGateway[] = [];
const proxies: { stop(): void }[] = [];

/** An environment with nothing from the user's: throwaway home, no telemetry/updates/network. */
function claudeEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    USERPROFILE: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    XDG_DATA_HOME: join(home, ".local/share"),
    XDG_STATE_HOME: join(home, ".local/state"),
    XDG_CACHE_HOME: join(home, ".cache"),
    CLAUDE_CONFIG_DIR: join(home, ".claude"),
    TMPDIR: join(dir, "tmp"),
    DISABLE_AUTOUPDATER: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_ERROR_REPORTING: "1",
    DO_NOT_TRACK: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    NO_COLOR: "1",
    TERM: "dumb",
  };
}

/** Runs `claude ...args` in the project dir, killed after `ms`. */
async function claude(args: string[], ms = 20_000): Promise<Run> {
  const started = performance.now();
  const proc = Bun.spawn([...claudeCommand(), ...args], {
    cwd: project,
    env: claudeEnv(),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill("SIGKILL");
  }, ms);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  if (timedOut) throw new Error(`claude ${args.join(" ")} did not finish within ${ms} ms\nstdout: ${stdout}\nstderr: ${stderr}`);
  return { code, stdout, stderr, ms: Math.round(performance.now() - started) };
}

/** Claude Code's per-server MCP logs (they hold the stdio gateway's stderr), for failure messages. */
function mcpLogs(): string {
  const root = join(home, ".cache/claude-cli-nodejs");
  if (!existsSync(root)) return "(no MCP logs)";
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`== ${p}\n${readFileSync(p, "utf8")}`);
    }
  };
  walk(root);
  return out.join("\n");
}

// A stdio tap: `bun tap.ts LOG -- CMD...` runs CMD with piped stdio, forwards both directions unchanged, and
// appends each line to LOG as "> " (to CMD) or "< " (from CMD). Claude Code launches it instead of the gateway.
const TAP_SOURCE = `
import { appendFileSync } from "node:fs";
const [log, , ...cmd] = process.argv.slice(2);
const child = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => child.kill(sig));
function lines(tag, write) {
  let buf = "";
  return (chunk) => {
    write(chunk);
    buf += new TextDecoder().decode(chunk);
    let nl;
    while ((nl = buf.indexOf("\\n")) !== -1) {
      appendFileSync(log, tag + buf.slice(0, nl) + "\\n");
      buf = buf.slice(nl + 1);
    }
  };
}
const toChild = lines("> ", (c) => { child.stdin.write(c); child.stdin.flush(); });
const fromChild = lines("< ", (c) => process.stdout.write(c));
(async () => { for await (const c of child.stdout) fromChild(c); })();
(async () => { for await (const c of Bun.stdin.stream()) toChild(c); child.stdin.end(); })();
process.exit(await child.exited);
`;

function readTap(log: string): Wire[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("> ") || l.startsWith("< "))
    .flatMap((l) => {
      try {
        return [{ dir: l.startsWith("> ") ? "in" : "out", msg: JSON.parse(l.slice(2)) } as Wire];
      } catch {
        return [];
      }
    });
}

/** A forwarding proxy in front of an HTTP gateway that records each JSON-RPC message of each POST and its answer. */
function httpTap(target: string): { url: string; wire: Wire[]; stop(): void } {
  const wire: Wire[] = [];
  const upstream = new URL(target);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const body = req.method === "POST" ? await req.text() : undefined;
      const header = req.headers.get("mcp-protocol-version");
      let sent: Record<string, any> | undefined;
      try {
        const parsed = body ? JSON.parse(body) : undefined;
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) sent = parsed;
      } catch {}
      const entry: Wire | undefined = sent && { dir: "in", msg: sent, header };
      if (entry) wire.push(entry);
      const headers = new Headers(req.headers);
      headers.delete("host");
      const res = await fetch(new URL(url.pathname + url.search, upstream), { method: req.method, headers, body, redirect: "manual" });
      if (entry) entry.status = res.status;
      // Answers to the handshake methods are small and final: read a copy (JSON or one SSE event).
      if (sent?.id !== undefined && ["server/discover", "initialize"].includes(sent.method)) {
        const text = await res.clone().text();
        const json = text.trim().startsWith("{") ? text : (text.match(/^data: (.*)$/m)?.[1] ?? "{}");
        try {
          wire.push({ dir: "out", msg: { ...JSON.parse(json), status: res.status } });
        } catch {
          wire.push({ dir: "out", msg: { id: sent.id, status: res.status, unparsed: text.slice(0, 200) } });
        }
      }
      const out = new Headers(res.headers);
      out.delete("content-encoding");
      out.delete("content-length");
      return new Response(res.body, { status: res.status, headers: out });
    },
  });
  return { url: `http://127.0.0.1:${server.port}${upstream.pathname}`, wire, stop: () => server.stop(true) };
}

type Front = { name: string; line: string; wire: () => Wire[] };
const fronts: Record<"stdioOn" | "httpOn" | "stdioOff" | "httpOff", Front> = {} as never;

beforeAll(async () => {
  dir = tempDir();
  home = join(dir, "home");
  project = join(dir, "project");
  for (const d of [home, project, join(dir, "tmp")]) mkdirSync(d, { recursive: true });
  const tap = join(dir, "tap.ts");
  writeFileSync(tap, TAP_SOURCE);
  const base = { identity: { anonymous: { roles: [] } }, backends: { alpha: stdioFixture("alpha") } };
  // Without modern fronts in the binary, "off" is the config without the section (the binary would refuse it).
  const variants = { On: base, Off: { ...base, modern: { enabled: false } } };

  for (const [suffix, config] of Object.entries(variants) as ["On" | "Off", Record<string, unknown>][]) {
    const cfgDir = join(dir, suffix);
    mkdirSync(cfgDir);
    const configPath = writeConfig(cfgDir, config);
    const log = join(cfgDir, "stdio-wire.log");
    const stdioName = `sentinel-stdio-${suffix.toLowerCase()}`;
    const command = [BUN, tap, log, "--", BIN, "--config", configPath];
    fronts[`stdio${suffix}`] = { name: stdioName, line: `${stdioName}: ${command.join(" ")} - ✔ Connected`, wire: () => readTap(log) };
    const gateway = await startHttpGateway(configPath);
    gateways.push(gateway);
    const proxy = httpTap(gateway.url);
    proxies.push(proxy);
    const httpName = `sentinel-http-${suffix.toLowerCase()}`;
    fronts[`http${suffix}`] = { name: httpName, line: `${httpName}: ${proxy.url} (HTTP) - ✔ Connected`, wire: () => proxy.wire };
    // `claude mcp add` rewrites one config file: one at a time.
    for (const args of [["mcp", "add", stdioName, "--", ...command], ["mcp", "add", "--transport", "http", httpName, proxy.url]]) {
      const add = await claude(args);
      expect(add.code, add.stderr).toBe(0);
    }
  }

  // One health check of all four; each test below reads its own line and wire.
  list = await claude(["mcp", "list"], 60_000);
  listContext = `claude mcp list (exit ${list.code}, ${list.ms} ms):\n${list.stdout}\n${list.stderr}\n${gateways.map((g) => g.stderr()).join("\n")}\n${mcpLogs()}`;
}, 90_000);

afterAll(async () => {
  for (const p of proxies) p.stop();
  await Promise.all(gateways.map((g) => g.stop()));
});

const requests = (w: Wire[], method: string) => w.filter((m) => m.dir === "in" && m.msg.method === method);
const answers = (w: Wire[], ids: unknown[]) => w.filter((m) => m.dir === "out" && ids.includes(m.msg.id));
const show = (w: Wire[]) => w.map((m) => `${m.dir === "in" ? ">" : "<"} ${JSON.stringify(m.msg).slice(0, 240)}`).join("\n");

test("claude --version runs offline", async () => {
  expect((await claude(["--version"])).stdout).toContain("(Claude Code)");
});

describe("modern: { enabled: false }: Claude Code falls back to initialize", () => {
  for (const key of ["stdioOff", "httpOff"] as const) {
    test(key === "stdioOff" ? "stdio front" : "HTTP front", () => {
      const f = fronts[key];
      const w = f.wire();
      const context = `${listContext}\nwire:\n${show(w)}`;
      expect(list.stdout, context).toContain(f.line);
      // It asked (a refused or unanswered probe is how it learns), then opened a 2025 session.
      const discover = requests(w, "server/discover");
      expect(discover.length, context).toBeGreaterThan(0);
      expect(answers(w, discover.map((m) => m.msg.id)).filter((m) => m.msg.result), context).toEqual([]);
      const init = requests(w, "initialize");
      expect(init.length, context).toBeGreaterThan(0);
      expect(answers(w, init.map((m) => m.msg.id)).some((m) => typeof m.msg.result?.protocolVersion === "string"), context).toBe(true);
    });
  }
});

describe("modern enabled (the default): Claude Code goes 2026-07-28", () => {
  for (const key of ["stdioOn", "httpOn"] as const) {
    test(key === "stdioOn" ? "stdio front" : "HTTP front", () => {
      const f = fronts[key];
      const w = f.wire();
      const context = `${listContext}\nwire:\n${show(w)}`;
      expect(list.stdout, context).toContain(f.line);
      const discover = requests(w, "server/discover");
      expect(discover.length, context).toBeGreaterThan(0);
      const offered = answers(w, discover.map((m) => m.msg.id)).flatMap((m) => m.msg.result?.supportedVersions ?? []);
      expect(offered, context).toContain(MODERN);
      expect(requests(w, "initialize"), context).toEqual([]);
      // What followed the probe spoke 2026-07-28: _meta on every request, and the header on HTTP.
      const after = w.filter((m) => m.dir === "in" && m.msg.id !== undefined && m.msg.method !== "server/discover");
      expect(after.length, context).toBeGreaterThan(0);
      for (const m of after) {
        expect(m.msg.params?._meta?.["io.modelcontextprotocol/protocolVersion"], `${m.msg.method}\n${context}`).toBe(MODERN);
        if (key === "httpOn") expect([m.header, m.status], `${m.msg.method}\n${context}`).toEqual([MODERN, 200]);
      }
      // And Sentinel served it: the tool list came back (stdio shows every answer; HTTP, the status above).
      const toolsList = requests(w, "tools/list");
      expect(toolsList.length, context).toBeGreaterThan(0);
      if (key === "stdioOn") {
        const tools = answers(w, toolsList.map((m) => m.msg.id)).flatMap((m) => m.msg.result?.tools ?? []);
        expect(tools.map((t: { name: string }) => t.name), context).toContain("alpha__echo");
      }
    });
  }
});

