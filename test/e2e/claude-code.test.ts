// Real Claude Code (the pinned @anthropic-ai/claude-code devDependency) against
// both fronts of the compiled gateway: `claude mcp add` registers the stdio and
// the HTTP front, and `claude mcp list` health-checks them (server/discover
// probe, fallback to initialize, tools/list). No login, no network beyond
// localhost: HOME, XDG dirs and CLAUDE_CONFIG_DIR point into a temp dir, and
// telemetry, error reporting, auto-update and other non-essential traffic are off.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { auditRows, BIN, eventually, NODE, ROOT, startHttpGateway, stdioFixture, tempDir, writeConfig, type HttpGateway } from "./harness.ts";

const PKG = join(ROOT, "node_modules/@anthropic-ai/claude-code");

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

let dir: string;
let home: string;
let project: string;
let configPath: string;
let http: HttpGateway;

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

beforeAll(async () => {
  dir = tempDir();
  home = join(dir, "home");
  project = join(dir, "project");
  for (const d of [home, project, join(dir, "tmp")]) mkdirSync(d, { recursive: true });
  configPath = writeConfig(dir, { identity: { anonymous: { roles: [] } }, backends: { alpha: stdioFixture("alpha") } });
  http = await startHttpGateway(configPath);
});

afterAll(async () => {
  await http?.stop();
});

test("claude mcp list connects to the stdio and the HTTP front", async () => {
  const version = await claude(["--version"]);
  expect(version.stdout).toContain("(Claude Code)");

  const addStdio = await claude(["mcp", "add", "sentinel-stdio", "--", BIN, "--config", configPath]);
  expect(addStdio.code, addStdio.stderr).toBe(0);
  expect(addStdio.stdout).toContain("Added stdio MCP server sentinel-stdio");

  const addHttp = await claude(["mcp", "add", "--transport", "http", "sentinel-http", http.url]);
  expect(addHttp.code, addHttp.stderr).toBe(0);
  expect(addHttp.stdout).toContain("Added HTTP MCP server sentinel-http");

  const list = await claude(["mcp", "list"], 60_000);
  const context = `claude mcp list (exit ${list.code}, ${list.ms} ms):\n${list.stdout}\n${list.stderr}\ngateway (http) stderr:\n${http.stderr()}\n${mcpLogs()}`;
  // e.g. "sentinel-stdio: /…/dist/sentinel --config /…/sentinel.json - ✔ Connected"
  //      "sentinel-http: http://127.0.0.1:PORT/mcp (HTTP) - ✔ Connected"
  expect(list.stdout, context).toContain(`sentinel-stdio: ${BIN} --config ${configPath} - ✔ Connected`);
  expect(list.stdout, context).toContain(`sentinel-http: ${http.url} (HTTP) - ✔ Connected`);
  expect(list.code, context).toBe(0);

  // Both health checks went through the gateway, as Claude Code.
  await eventually(async () => {
    const rows = await auditRows(configPath);
    const inits = rows.filter((r) => r.method === "initialize" && r.outcome === "ok").map((r) => r.front);
    return inits.includes("stdio") && inits.includes("http");
  }, 5_000);
}, 90_000);
