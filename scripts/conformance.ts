// Runs the official MCP conformance suite (@modelcontextprotocol/conformance, server mode)
// against an MCP server URL and prints per-scenario and per-list results.
//
//   bun scripts/conformance.ts                      # start test/fixtures/conformance-server.ts over HTTP, test it
//   bun scripts/conformance.ts --gateway            # start dist/sentinel serve --http fronting that fixture (stdio
//                                                   #   backend, prefix ""), test the gateway (run `bun run build` first)
//   bun scripts/conformance.ts --url http://127.0.0.1:8787/mcp   # test an already running server
// Options:
//   --scenario NAME     only this scenario (repeatable)
//   --suite S           all (default) | active | pending  (the suite's own lists: pending = json-schema-2020-12,
//                       server-sse-polling; active = everything else)
//   --expect-fail A,B   scenarios known to fail (repeatable); they do not fail the run, but one that passes is
//                       a stale entry and does (same rule as the suite's --expected-failures)
//   --sentinel PATH     gateway binary for --gateway (default dist/sentinel)
//   --keep              keep the results directory (checks.json per scenario) and print its path
//   --verbose           print every non-INFO check, not just failures
// Exit status: 0 if no unexpected FAILURE check and no stale --expect-fail entry, 1 otherwise, 2 on setup errors.
// WARNING checks (SHOULD-level) are printed but do not fail the run, matching the suite's own exit code.
//
// The suite's CLI declares node>=22 but runs fine on Bun (Node 20 lacks fs.globSync), so it is run
// with this Bun binary: bun node_modules/@modelcontextprotocol/conformance/dist/index.js server --url URL ...

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const root = resolve(import.meta.dir, "..");
const CLI = join(root, "node_modules/@modelcontextprotocol/conformance/dist/index.js");
const FIXTURE = join(root, "test/fixtures/conformance-server.ts");
// Mirrors the suite's own lists (conformance 0.1.16): "pending" scenarios are excluded from its default run.
const PENDING = new Set(["json-schema-2020-12", "server-sse-polling"]);

const { values: opts } = parseArgs({
  options: {
    url: { type: "string" },
    gateway: { type: "boolean", default: false },
    sentinel: { type: "string", default: join(root, "dist/sentinel") },
    scenario: { type: "string", multiple: true },
    suite: { type: "string", default: "all" },
    "expect-fail": { type: "string", multiple: true },
    keep: { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
  },
});
if (!["all", "active", "pending"].includes(opts.suite)) die(`--suite: expected all, active or pending`);
const expectFail = new Set((opts["expect-fail"] ?? []).flatMap((s) => s.split(",")).filter(Boolean));

type Check = { id: string; name: string; description: string; status: string; errorMessage?: string };

function die(msg: string): never {
  console.error(`conformance: ${msg}`);
  cleanup();
  process.exit(2);
}

const children: Bun.Subprocess[] = [];
let workDir = "";
function cleanup() {
  for (const c of children) {
    try {
      c.kill("SIGTERM");
    } catch {}
  }
  if (workDir && !opts.keep) rmSync(workDir, { recursive: true, force: true });
}
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

/** Reads a child's stream line by line until `pattern` matches; returns the first capture group. */
async function waitForLine(stream: ReadableStream<Uint8Array>, pattern: RegExp, what: string, ms = 20_000) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  let seen = "";
  const timer = setTimeout(() => reader.cancel(), ms);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      buf += text;
      seen += text;
      const m = buf.match(pattern);
      if (m) {
        // Keep draining so the child never blocks on a full pipe.
        void (async () => {
          try {
            while (!(await reader.read()).done);
          } catch {}
        })();
        return m[1]!;
      }
    }
  } finally {
    clearTimeout(timer);
  }
  die(`${what} did not report readiness within ${ms} ms. Output so far:\n${seen}`);
}

async function startFixture(): Promise<string> {
  const child = Bun.spawn([process.execPath, FIXTURE, "--transport", "http", "--port", "0"], {
    cwd: root,
    stdout: "pipe",
    stderr: "inherit",
  });
  children.push(child);
  return waitForLine(child.stdout, /^LISTENING (\S+)$/m, "conformance fixture");
}

async function startGateway(): Promise<string> {
  if (!existsSync(opts.sentinel)) die(`${opts.sentinel} not found (run \`bun run build\` first or pass --sentinel PATH)`);
  workDir ||= mkdtempSync(join(tmpdir(), "sentinel-conformance-"));
  const cfg = join(workDir, "sentinel.json");
  writeFileSync(
    cfg,
    JSON.stringify(
      {
        http: { host: "127.0.0.1" },
        identity: { anonymous: { roles: [] } },
        audit: { path: join(workDir, "audit.db") },
        backends: { conf: { command: process.execPath, args: [FIXTURE], prefix: "" } },
      },
      null,
      2,
    ),
  );
  const child = Bun.spawn([opts.sentinel, "serve", "--http", "--config", cfg, "--port", "0"], {
    cwd: root,
    stdout: "inherit",
    stderr: "pipe",
  });
  children.push(child);
  const url = await waitForLine(child.stderr, /listening on (\S+)/, "sentinel");
  // Backends start asynchronously: wait until the fixture's tools are visible through the gateway.
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const client = new Client({ name: "conformance-readiness", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      const { tools } = await client.listTools();
      await client.close();
      if (tools.some((t) => t.name === "test_simple_text")) return url;
    } catch {}
    if (Date.now() > deadline) die(`sentinel at ${url} never listed the fixture's tools`);
    await Bun.sleep(200);
  }
}

const started = performance.now();
let url = opts.url;
if (url && opts.gateway) die("--url and --gateway are exclusive");
if (!url) url = opts.gateway ? await startGateway() : await startFixture();
const target = opts.url ? url : opts.gateway ? `sentinel (${url}) -> stdio fixture` : `fixture (${url})`;

workDir ||= mkdtempSync(join(tmpdir(), "sentinel-conformance-"));
const outDir = join(workDir, "results");

// Which scenarios: one CLI run per explicit scenario, else one run of the whole suite.
const runs: string[][] = opts.scenario?.length
  ? opts.scenario.map((s) => ["--scenario", s])
  : [["--suite", opts.suite]];
const t0 = performance.now();
for (const sel of runs) {
  const proc = Bun.spawn([process.execPath, CLI, "server", "--url", url, ...sel, "-o", outDir], {
    cwd: workDir,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  if (/Validation error|Server test error/.test(out + err)) {
    die(`the suite refused to run:\n${out}${err}`);
  }
}
const suiteMs = performance.now() - t0;

// Each scenario's checks are in <outDir>/server-<scenario>-<timestamp>/checks.json.
const results = new Map<string, Check[]>();
let dirs: string[] = [];
try {
  dirs = readdirSync(outDir);
} catch {}
// In run order (the timestamp suffix), which is the suite's own scenario order.
const found = dirs
  .map((d) => d.match(/^server-(.+)-(\d{4}-\d{2}-\d{2}T[\d-]+Z)$/))
  .filter((m): m is RegExpMatchArray => m !== null)
  .sort((a, b) => a[2]!.localeCompare(b[2]!));
for (const m of found) {
  results.set(m[1]!, JSON.parse(readFileSync(join(outDir, m[0], "checks.json"), "utf8")) as Check[]);
}
if (results.size === 0) {
  die(`no results were written to ${outDir}`);
}

const count = (checks: Check[], status: string) => checks.filter((c) => c.status === status).length;
console.log(`MCP conformance (server scenarios) against ${target}\n`);
const lists: [string, string[]][] = [
  ["active", [...results.keys()].filter((s) => !PENDING.has(s))],
  ["pending", [...results.keys()].filter((s) => PENDING.has(s))],
];
let unexpected = 0;
const stale: string[] = [];
for (const [list, names] of lists) {
  if (names.length === 0) continue;
  let passed = 0;
  let failed = 0;
  let warnings = 0;
  let scenariosFailed = 0;
  console.log(`${list} scenarios:`);
  for (const name of names) {
    const checks = results.get(name)!;
    const p = count(checks, "SUCCESS");
    const f = count(checks, "FAILURE");
    const w = count(checks, "WARNING");
    passed += p;
    failed += f;
    warnings += w;
    if (f > 0) scenariosFailed++;
    const expected = expectFail.has(name);
    if (f > 0 && !expected) unexpected++;
    if (f === 0 && expected) stale.push(name);
    const mark = f > 0 ? (expected ? "x (expected)" : "✗") : "✓";
    console.log(`  ${mark} ${name}: ${p} passed, ${f} failed${w ? `, ${w} warnings` : ""}`);
    for (const c of checks) {
      if (c.status === "FAILURE" || (opts.verbose && c.status === "WARNING")) {
        console.log(`      ${c.status} ${c.name}: ${c.errorMessage ?? c.description}`);
      }
    }
  }
  console.log(
    `  ${list}: ${names.length - scenariosFailed}/${names.length} scenarios passed; checks: ${passed} passed, ${failed} failed, ${warnings} warnings\n`,
  );
}
for (const s of expectFail) if (!results.has(s) && !opts.scenario?.length && opts.suite === "all") stale.push(s);
if (stale.length) console.log(`stale --expect-fail entries (these passed or did not run): ${stale.join(", ")}`);
const secs = (ms: number) => (ms / 1000).toFixed(1);
console.log(`suite ran in ${secs(suiteMs)} s (total ${secs(performance.now() - started)} s incl. startup)`);
if (opts.keep) console.log(`results kept in ${outDir}`);
cleanup();
process.exit(unexpected > 0 || stale.length > 0 ? 1 : 0);
