// Runs the official MCP conformance suite (@modelcontextprotocol/conformance) against an MCP server URL and
// prints per-scenario and per-list results; or puts Sentinel in the client seat of the suite's client scenarios.
//
//   bun scripts/conformance.ts                      # start test/fixtures/conformance-server.ts over HTTP, test it
//   bun scripts/conformance.ts --gateway            # start dist/sentinel serve --http fronting that fixture (stdio
//                                                   #   backend, prefix ""), test the gateway (run `bun run build` first)
//   bun scripts/conformance.ts --url http://127.0.0.1:8787/mcp   # test an already running server
//   bun scripts/conformance.ts --client             # client scenarios: the suite's test server is Sentinel's only
//                                                   #   backend, driven by test/conformance/sentinel-client.ts
//   bun scripts/conformance.ts --record test/conformance/RESULTS.md   # all three runs above (fixture, gateway,
//                                                   #   client), written as a Markdown report
//   bun scripts/conformance.ts --modern             # the 0.2.0-alpha suite (conformance-next) under Node 22
//                                                   #   (node_modules/node/bin/node), directly and through Sentinel
//                                                   #   side by side (test/conformance/modern.ts): server
//                                                   #   --requirements 2026-07-28 (modern fixture) and 2025-11-25
//                                                   #   (legacy fixture; modern fixture), each direct | stdio
//                                                   #   backend | HTTP backend; client scenarios of 2026-07-28 with
//                                                   #   the v2 SDK client vs Sentinel as the client. Prints what
//                                                   #   passes directly but not through Sentinel. --record FILE
//                                                   #   writes test/conformance/RESULTS-2026-07-28.md
//   --modern options: --only 2026,2025,2025-modern,2026-legacy,client (a subset), --backend-era auto|legacy|modern (the
//   backend's `era` in Sentinel's config; default: unset), --scenario, --expect-fail, --sentinel, --keep, --verbose.
//   --scenario applies to every comparison picked: pair it with --only (server or client scenarios, not both).
//   Exit status: 2 if a direct run fails where the recorded baseline passes (the harness is wrong), 1 if something
//   passes directly but fails through Sentinel (not listed in --expect-fail), 0 otherwise.
// Options:
//   --scenario NAME     only this scenario (repeatable)
//   --suite S           server mode: all (default) | active | pending  (the suite's own lists: pending =
//                       json-schema-2020-12, server-sse-polling; active = everything else)
//   --spec-version V    passed to the suite: only scenarios of that spec version (2025-06-18, 2025-11-25, ...;
//                       cumulative: every server scenario of 0.1.16 lists 2025-11-25, so that selects them all)
//   --expect-fail A,B   scenarios known to fail (repeatable); they do not fail the run, but one that passes is
//                       a stale entry and does (same rule as the suite's --expected-failures)
//   --backend B         --gateway: how Sentinel reaches the fixture: stdio (default) | http (the fixture over
//                       Streamable HTTP, so Sentinel's HTTP client is in the path); --record runs both
//   --sentinel PATH     gateway binary for --gateway / --client (default dist/sentinel)
//   --json              print the results as JSON (per scenario: checks passed/failed/warnings, and the checks)
//   --keep              keep the results directory (checks.json per scenario) and print its path
//   --verbose           print every non-INFO check, not just failures
// Exit status: 0 if no unexpected FAILURE check and no stale --expect-fail entry, 1 otherwise, 2 on setup errors.
// Server mode: WARNING checks (SHOULD-level) are printed but do not fail the run, matching the suite's own exit
// code. Client mode: the suite itself fails a client scenario on a WARNING, a timeout or a non-zero client exit,
// and so does this script.
//
// The suite's CLI declares node>=22 but runs fine on Bun (Node 20 lacks fs.globSync), so it is run
// with this Bun binary: bun node_modules/@modelcontextprotocol/conformance/dist/index.js server --url URL ...
//
// As a module: runServerConformance(), runClientConformance(), listScenarios() and renderMarkdown() are what
// test/e2e/conformance.test.ts uses.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

export const ROOT = resolve(import.meta.dir, "..");
const SUITE_DIR = join(ROOT, "node_modules/@modelcontextprotocol/conformance");
export const CLI = join(SUITE_DIR, "dist/index.js");
export const FIXTURE = join(ROOT, "test/fixtures/conformance-server.ts");
export const SENTINEL_CLIENT = join(ROOT, "test/conformance/sentinel-client.ts");
export const DEFAULT_SENTINEL = join(ROOT, "dist/sentinel");
const BUN = process.execPath;
// Mirrors the suite's own lists (conformance 0.1.16): "pending" scenarios are excluded from its default run.
export const PENDING = new Set(["json-schema-2020-12", "server-sse-polling"]);
/** The client scenarios test/conformance/sentinel-client.ts can play (auth/* need an OAuth-capable client). */
export const CLIENT_SCENARIOS = ["initialize", "tools_call", "elicitation-sep1034-client-defaults", "sse-retry"];

export type Check = { id: string; name: string; description: string; status: string; errorMessage?: string; details?: unknown };
export type ScenarioResult = {
  scenario: string;
  list: "active" | "pending" | "client";
  passed: number;
  failed: number;
  warnings: number;
  checks: Check[];
};
export type ServerRun = {
  mode: "fixture" | "gateway" | "url";
  backend?: "stdio" | "http";
  target: string;
  url: string;
  /** The suite invocations, as run (URL included). */
  commands: string[];
  scenarios: ScenarioResult[];
  suiteMs: number;
  totalMs: number;
  outDir?: string;
};
export type ClientRun = ScenarioResult & {
  command: string;
  /** The suite's exit status: 0 iff it printed OVERALL: PASSED. */
  exitCode: number;
  output: string;
  ms: number;
  outDir?: string;
};

/** A problem running the suite at all (as opposed to a failing check). */
export class SetupError extends Error {}

export function suiteVersion(): string {
  return (JSON.parse(readFileSync(join(SUITE_DIR, "package.json"), "utf8")) as { version: string }).version;
}

// The 0.2.0-alpha suite: the only one that knows 2026-07-28. Its CLI needs Node >= 22 (npm's `node` package).
const NEXT_SUITE_DIR = join(ROOT, "node_modules/@modelcontextprotocol/conformance-next");
export const NEXT_CLI = join(NEXT_SUITE_DIR, "dist/index.js");
export const NODE22 = join(ROOT, "node_modules/node/bin/node");
export const MODERN_FIXTURE = join(ROOT, "test/fixtures/modern-server.ts");

export function nextSuiteVersion(): string {
  return (JSON.parse(readFileSync(join(NEXT_SUITE_DIR, "package.json"), "utf8")) as { version: string }).version;
}

/**
 * The checks the suite wrote for each scenario (<outDir>/server-<scenario>-<timestamp>/checks.json),
 * in run order (the timestamp suffix), which is the suite's own scenario order.
 */
export function scenarioChecks(outDir: string): { scenario: string; checks: Check[] }[] {
  let dirs: string[] = [];
  try {
    dirs = readdirSync(outDir);
  } catch {}
  return dirs
    .map((d) => d.match(/^server-(.+)-(\d{4}-\d{2}-\d{2}T[\d-]+Z)$/))
    .filter((m): m is RegExpMatchArray => m !== null)
    .sort((a, b) => a[2]!.localeCompare(b[2]!))
    .map((m) => ({ scenario: m[1]!, checks: readChecks(join(outDir, m[0], "checks.json")) }));
}

/** A scenario that died before writing its checks (the suite reports it on stderr only) counts as one failure. */
function readChecks(path: string): Check[] {
  if (existsSync(path)) return JSON.parse(readFileSync(path, "utf8")) as Check[];
  const description = "the suite wrote no checks.json for this scenario (it threw or timed out; run it alone with --verbose)";
  return [{ id: "no-checks-written", name: "NoChecksWritten", description, status: "FAILURE", errorMessage: description }];
}

export function tally(scenario: string, list: ScenarioResult["list"], checks: Check[]): ScenarioResult {
  const n = (s: string) => checks.filter((c) => c.status === s).length;
  return { scenario, list, passed: n("SUCCESS"), failed: n("FAILURE"), warnings: n("WARNING"), checks };
}

/** Reads a child's stream until `pattern` matches; returns the first capture group. Keeps draining after. */
export async function waitForLine(stream: ReadableStream<Uint8Array>, pattern: RegExp, what: string, ms = 20_000) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  const timer = setTimeout(() => reader.cancel(), ms);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
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
  throw new SetupError(`${what} did not report readiness within ${ms} ms. Output so far:\n${buf}`);
}

async function startFixture(children: Bun.Subprocess[]): Promise<string> {
  const child = Bun.spawn([BUN, FIXTURE, "--transport", "http", "--port", "0"], { cwd: ROOT, stdout: "pipe", stderr: "inherit" });
  children.push(child);
  return waitForLine(child.stdout, /^LISTENING (\S+)$/m, "conformance fixture");
}

async function startGateway(children: Bun.Subprocess[], sentinel: string, workDir: string, backend: "stdio" | "http"): Promise<string> {
  if (!existsSync(sentinel)) throw new SetupError(`${sentinel} not found (run \`bun run build\` first or pass --sentinel PATH)`);
  const conf = backend === "http" ? { url: await startFixture(children), prefix: "" } : { command: BUN, args: [FIXTURE], prefix: "" };
  const cfg = join(workDir, "sentinel.json");
  writeFileSync(
    cfg,
    JSON.stringify(
      {
        http: { host: "127.0.0.1" },
        identity: { anonymous: { roles: [] } },
        audit: { path: join(workDir, "audit.db") },
        backends: { conf },
      },
      null,
      2,
    ),
  );
  const child = Bun.spawn([sentinel, "serve", "--http", "--config", cfg, "--port", "0"], { cwd: ROOT, stdout: "inherit", stderr: "pipe" });
  children.push(child);
  const url = await waitForLine(child.stderr, /listening on (\S+)/, "sentinel");
  if (await listsFixtureTools(url, 20_000)) return url;
  throw new SetupError(`sentinel at ${url} never listed the fixture's tools`);
}

/**
 * Backends start asynchronously: polls, as a client would, until the fixture's
 * tools are visible through the gateway at `url`, or `ms` pass (or `gone` says
 * the gateway exited).
 */
export async function listsFixtureTools(url: string, ms: number, gone: () => boolean = () => false): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const client = new Client({ name: "conformance-readiness", version: "1.0.0" });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      const { tools } = await client.listTools();
      await client.close();
      if (tools.some((t) => t.name === "test_simple_text")) return true;
    } catch {}
    if (Date.now() > deadline || gone()) return false;
    await Bun.sleep(200);
  }
}

async function runSuite(args: string[], cwd: string, env?: Record<string, string>) {
  const proc = Bun.spawn([BUN, CLI, ...args], { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (/Validation error|Server test error|Client test error|Unknown (suite|spec version)/.test(out + err)) {
    throw new SetupError(`the suite refused to run (${args.join(" ")}):\n${out}${err}`);
  }
  return { out, err, code };
}

/** The suite's scenario names, in its own order (optionally filtered by spec version, as the suite does). */
export async function listScenarios(kind: "server" | "client", specVersion?: string): Promise<string[]> {
  const { out } = await runSuite(["list", `--${kind}`, ...(specVersion ? ["--spec-version", specVersion] : [])], ROOT);
  return [...out.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]!);
}

export type ServerOptions = {
  /** fixture: the fixture directly over HTTP; gateway: Sentinel (HTTP front) fronting it over stdio; url: `url`. */
  mode: "fixture" | "gateway" | "url";
  url?: string;
  sentinel?: string;
  /** gateway mode: how Sentinel reaches the fixture (default stdio). */
  backend?: "stdio" | "http";
  scenarios?: string[];
  suite?: "all" | "active" | "pending";
  specVersion?: string;
  keep?: boolean;
};

/** Runs the suite's server scenarios; per-scenario results in the suite's own order. */
export async function runServerConformance(o: ServerOptions): Promise<ServerRun> {
  const started = performance.now();
  const children: Bun.Subprocess[] = [];
  const workDir = mkdtempSync(join(tmpdir(), "sentinel-conformance-"));
  const outDir = join(workDir, "results");
  try {
    let url: string;
    if (o.mode === "url") {
      if (!o.url) throw new SetupError("mode url needs a url");
      url = o.url;
    } else if (o.mode === "gateway") url = await startGateway(children, o.sentinel ?? DEFAULT_SENTINEL, workDir, o.backend ?? "stdio");
    else url = await startFixture(children);
    const target = o.mode === "url" ? url : o.mode === "gateway" ? `sentinel (${url}) -> ${o.backend ?? "stdio"} fixture` : `fixture (${url})`;

    // Which scenarios: one CLI run per explicit scenario, else one run of the whole suite.
    const spec = o.specVersion ? ["--spec-version", o.specVersion] : [];
    const runs: string[][] = o.scenarios?.length
      ? o.scenarios.map((s) => ["--scenario", s])
      : [["--suite", o.suite ?? "all", ...spec]];
    const commands: string[] = [];
    const t0 = performance.now();
    for (const sel of runs) {
      const args = ["server", "--url", url, ...sel, "-o", outDir];
      commands.push(["conformance", ...args.slice(0, -2)].join(" "));
      await runSuite(args, workDir);
    }
    const suiteMs = performance.now() - t0;

    const scenarios = scenarioChecks(outDir).map(({ scenario, checks }) => tally(scenario, PENDING.has(scenario) ? "pending" : "active", checks));
    if (scenarios.length === 0) throw new SetupError(`no results were written to ${outDir}`);
    return { mode: o.mode, ...(o.mode === "gateway" && { backend: o.backend ?? "stdio" }), target, url, commands, scenarios, suiteMs, totalMs: performance.now() - started, ...(o.keep && { outDir }) };
  } finally {
    for (const c of children) {
      try {
        c.kill("SIGTERM");
      } catch {}
    }
    await Promise.all(children.map((c) => c.exited));
    if (!o.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

export type ClientOptions = { sentinel?: string; timeoutMs?: number; specVersion?: string; keep?: boolean };

/**
 * Runs one client scenario with Sentinel in the client seat: the suite starts its test server and runs
 * test/conformance/sentinel-client.ts, which starts Sentinel (stdio) with that server as its only backend.
 */
export async function runClientConformance(scenario: string, o: ClientOptions = {}): Promise<ClientRun> {
  const sentinel = o.sentinel ?? DEFAULT_SENTINEL;
  if (!existsSync(sentinel)) throw new SetupError(`${sentinel} not found (run \`bun run build\` first or pass --sentinel PATH)`);
  // The suite splits --command on spaces (then runs it through a shell).
  if (/\s/.test(BUN + SENTINEL_CLIENT)) throw new SetupError(`paths with spaces are not supported: ${BUN} ${SENTINEL_CLIENT}`);
  const workDir = mkdtempSync(join(tmpdir(), "sentinel-conformance-client-"));
  const outDir = join(workDir, "results");
  const clientCommand = `${BUN} ${SENTINEL_CLIENT}`;
  const args = ["client", "--command", clientCommand, "--scenario", scenario, "--timeout", String(o.timeoutMs ?? 20_000)];
  if (o.specVersion) args.push("--spec-version", o.specVersion);
  const t0 = performance.now();
  try {
    const { out, err, code } = await runSuite([...args, "-o", outDir], workDir, { SENTINEL_BIN: sentinel });
    const saved = (out + err).match(/Results saved to (.+)/)?.[1]?.trim();
    if (!saved || !existsSync(join(saved, "checks.json"))) throw new SetupError(`no results for client scenario ${scenario}:\n${out}${err}`);
    const checks = JSON.parse(readFileSync(join(saved, "checks.json"), "utf8")) as Check[];
    const command = `conformance client --command "bun test/conformance/sentinel-client.ts" --scenario ${scenario}`;
    return {
      ...tally(scenario, "client", checks),
      command,
      exitCode: code,
      output: out + err,
      ms: performance.now() - t0,
      ...(o.keep && { outDir }),
    };
  } finally {
    if (!o.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reporting

const secs = (ms: number) => (ms / 1000).toFixed(1);
const counts = (r: { passed: number; failed: number; warnings: number }) =>
  `${r.passed}/${r.failed}${r.warnings ? ` (${r.warnings} warning${r.warnings > 1 ? "s" : ""})` : ""}`;

/** What a gateway run is called in the report. */
export function gatewayLabel(run: ServerRun): string {
  return `through Sentinel (${run.backend ?? "stdio"} backend)`;
}

/** A Markdown report of a fixture run, gateway runs of the same scenarios, and client scenario runs. */
export function renderMarkdown(r: {
  direct: ServerRun;
  gateways: ServerRun[];
  client: ClientRun[];
  argv: string;
  date: Date;
  /** Server scenario names per --spec-version, as `conformance list --server --spec-version V` gives them. */
  bySpecVersion?: Record<string, string[]>;
}): string {
  const L: string[] = [];
  const sum = (xs: ScenarioResult[]) => ({
    scenarios: xs.length,
    ok: xs.filter((x) => x.failed === 0).length,
    passed: xs.reduce((a, x) => a + x.passed, 0),
    failed: xs.reduce((a, x) => a + x.failed, 0),
    warnings: xs.reduce((a, x) => a + x.warnings, 0),
  });
  const index = (run: ServerRun) => new Map(run.scenarios.map((s) => [s.scenario, s]));
  const direct = index(r.direct);
  const gws = r.gateways.map(index);
  const names = [...new Set([...r.direct.scenarios, ...r.gateways.flatMap((g) => g.scenarios)].map((s) => s.scenario))];
  let sentinelVersion = "?";
  try {
    sentinelVersion = Bun.spawnSync([DEFAULT_SENTINEL, "--version"]).stdout.toString().trim() || "?";
  } catch {}
  const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--", "src"], { cwd: ROOT }).stdout.toString().trim() !== "";

  L.push("# MCP conformance results");
  L.push("");
  L.push(`<!-- Generated by \`${r.argv}\`; do not edit by hand. -->`);
  L.push("");
  L.push(`- Suite: \`@modelcontextprotocol/conformance\` ${suiteVersion()} (run with Bun ${Bun.version})`);
  L.push(`- Sentinel: ${sentinelVersion} (\`dist/sentinel\`, built from ${commit || "?"}${dirty ? " with uncommitted changes in src/" : ""})`);
  L.push(`- Date: ${r.date.toISOString()}`);
  L.push(`- Regenerate: \`bun run build && ${r.argv}\``);
  L.push("");
  L.push("## Server scenarios");
  L.push("");
  L.push("- **direct**: `test/fixtures/conformance-server.ts` over Streamable HTTP, tested by");
  for (const c of r.direct.commands) L.push(`  \`${c.replace(r.direct.url, "<fixture-url>")}\``);
  for (const g of r.gateways) {
    const how = g.backend === "http" ? "over Streamable HTTP (`{ \"url\": <fixture-url> }`)" : "as a stdio child (`{ \"command\": \"bun\", \"args\": [fixture] }`)";
    L.push(`- **${gatewayLabel(g)}**: \`dist/sentinel serve --http\` (anonymous access, no policy) fronting the same fixture`);
    L.push(`  ${how}, prefix \`""\`, tested by`);
    for (const c of g.commands) L.push(`  \`${c.replace(g.url, "<sentinel-url>")}\``);
  }
  L.push("");
  L.push("`conformance` stands for `bun node_modules/@modelcontextprotocol/conformance/dist/index.js`; each run also");
  L.push("passes `-o <tmpdir>` and the results are read from its `checks.json` files.");
  if (r.bySpecVersion) {
    const parts = Object.entries(r.bySpecVersion).map(([v, xs]) => {
      const same = xs.length === names.length && names.every((n) => xs.includes(n));
      return `\`--spec-version ${v}\` selects ${xs.length} of them${same ? " (the same set as `--suite all`, so it is not run again)" : ""}`;
    });
    L.push(`The suite's \`--spec-version\` only filters scenarios (it does not change what a scenario sends): ${parts.join("; ")}.`);
  }
  L.push("");
  L.push("Each cell is checks passed/failed (warnings are SHOULD-level and do not fail a scenario).");
  L.push("");
  L.push(`| scenario | list | direct | ${r.gateways.map(gatewayLabel).join(" | ")} | same result |`);
  L.push(`|---|---|---|${r.gateways.map(() => "---|").join("")}---|`);
  const mark = (x?: ScenarioResult) => (x ? `${x.failed === 0 ? "✓" : "✗"} ${counts(x)}` : "not run");
  const differing = new Set<string>();
  for (const n of names) {
    const d = direct.get(n);
    const gs = gws.map((g) => g.get(n));
    let same = "yes";
    if (!d || gs.some((g) => !g || (g.failed === 0) !== (d.failed === 0))) same = "**no**";
    else if (gs.some((g) => g!.passed !== d.passed || g!.failed !== d.failed || g!.warnings !== d.warnings)) {
      same = "yes (verdict; checks differ, see below)";
      differing.add(n);
    }
    L.push(`| ${n} | ${(d ?? gs.find(Boolean))!.list} | ${mark(d)} | ${gs.map(mark).join(" | ")} | ${same} |`);
  }
  L.push("");
  const runs = [r.direct, ...r.gateways];
  L.push(`| totals | direct | ${r.gateways.map(gatewayLabel).join(" | ")} |`);
  L.push(`|---|---|${r.gateways.map(() => "---|").join("")}`);
  const row = (label: string, f: (run: ServerRun) => string) => L.push(`| ${label} | ${runs.map(f).join(" | ")} |`);
  row("active scenarios passed", (x) => {
    const s = sum(x.scenarios.filter((s) => s.list === "active"));
    return `${s.ok}/${s.scenarios}`;
  });
  row("all scenarios passed", (x) => {
    const s = sum(x.scenarios);
    return `${s.ok}/${s.scenarios}`;
  });
  row("checks passed / failed / warnings", (x) => {
    const s = sum(x.scenarios);
    return `${s.passed} / ${s.failed} / ${s.warnings}`;
  });
  row("suite time", (x) => `${secs(x.suiteMs)} s`);
  L.push("");
  if (differing.size) {
    L.push("Scenarios whose graded (non-INFO) checks differ between the direct run and a run through Sentinel:");
    L.push("");
    const show = (x?: ScenarioResult) =>
      x ? x.checks.filter((c) => c.status !== "INFO").map((c) => `${c.id} ${c.status}`).join(", ") || "none" : "not run";
    for (const n of differing) {
      L.push(`- \`${n}\`: direct: ${show(direct.get(n))}; ${r.gateways.map((g, i) => `${gatewayLabel(g)}: ${show(gws[i]!.get(n))}`).join("; ")}.`);
      for (const [i, g] of r.gateways.entries()) {
        for (const c of gws[i]!.get(n)?.checks ?? []) {
          const msg = (c.details as { message?: string } | undefined)?.message;
          if (c.status === "INFO" && msg && /JSON/.test(msg)) L.push(`  ${gatewayLabel(g)}, ${c.id}: "${msg}"`);
        }
      }
    }
    L.push("");
    L.push("These scenarios grade the *shape* of the HTTP answer (an SSE stream with a priming event and `retry`, or");
    L.push("several concurrent SSE streams). Sentinel answers a POST with `application/json` unless the backend sends");
    L.push("something mid-call, which the spec allows; the suite then skips its SSE-only checks instead of failing.");
    L.push("");
  }
  L.push("## Client scenarios (Sentinel in the client seat)");
  L.push("");
  L.push("The suite starts its test server and runs `bun test/conformance/sentinel-client.ts <serverUrl>`, which starts");
  L.push("`dist/sentinel --config <tmp>` (stdio) with that server as its only backend (`{ \"url\": <serverUrl>, \"prefix\": \"\" }`)");
  L.push("and drives it with an SDK client (capabilities `{ elicitation: { form: { applyDefaults: true } } }`). The suite");
  L.push("grades Sentinel, which is the MCP client its server sees. A scenario passes only with no FAILURE, no WARNING,");
  L.push("no timeout and a zero client exit (the suite's own rule), and here also only with at least one passed check.");
  L.push("`auth/*` scenarios are not run.");
  L.push("");
  L.push("| scenario | checks passed/failed | verdict | time | notes | command |");
  L.push("|---|---|---|---|---|---|");
  for (const c of r.client) {
    const verdict = scenarioOk(c) ? "PASSED" : `FAILED (exit ${c.exitCode}${c.passed === 0 ? ", no checks passed" : ""})`;
    const notes: string[] = [];
    for (const k of c.checks) {
      const d = k.details as { actualDelayMs?: number; expectedRetryMs?: number; lastEventIds?: string[] } | undefined;
      if (typeof d?.actualDelayMs === "number") notes.push(`reconnected ${d.actualDelayMs} ms after the close (retry: ${d.expectedRetryMs})`);
      if (k.id === "client-sse-last-event-id" && d?.lastEventIds?.length) notes.push(`Last-Event-ID: ${d.lastEventIds.join(", ")}`);
    }
    L.push(`| ${c.scenario} | ${counts(c)} | ${verdict} | ${secs(c.ms)} s | ${notes.join("; ")} | \`${c.command}\` |`);
  }
  L.push("");
  const cs = sum(r.client);
  L.push(`Totals: ${r.client.filter(scenarioOk).length}/${r.client.length} client scenarios passed; checks ${cs.passed} passed, ${cs.failed} failed, ${cs.warnings} warnings.`);
  const where = (s: ScenarioResult) =>
    s.list === "client" ? "client" : (r.gateways.find((g) => g.scenarios.includes(s)) && gatewayLabel(r.gateways.find((g) => g.scenarios.includes(s))!)) || "direct";
  const failures = [...r.direct.scenarios, ...r.gateways.flatMap((g) => g.scenarios), ...r.client].flatMap((s) =>
    s.checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING").map((c) => ({ s, c })),
  );
  if (failures.length) {
    L.push("");
    L.push("## Failures and warnings");
    L.push("");
    L.push("Every FAILURE or WARNING check of the runs above (\"direct\" ones are the fixture's, not Sentinel's).");
    L.push("");
    for (const { s, c } of failures) L.push(`- ${where(s)} \`${s.scenario}\` ${c.status} ${c.name}: ${c.errorMessage ?? c.description}`);
  }
  L.push("");
  return L.join("\n");
}

/** A server scenario passes with no FAILURE check; a client one also needs the suite's verdict and >0 passed checks. */
export function scenarioOk(s: ScenarioResult | ClientRun): boolean {
  return "exitCode" in s ? s.exitCode === 0 && s.failed === 0 && s.passed > 0 : s.failed === 0;
}

function judge(xs: (ScenarioResult | ClientRun)[], expectFail: Set<string>): { unexpected: number; stale: string[] } {
  return {
    unexpected: xs.filter((s) => !scenarioOk(s) && !expectFail.has(s.scenario)).length,
    stale: xs.filter((s) => scenarioOk(s) && expectFail.has(s.scenario)).map((s) => s.scenario),
  };
}

function printServerRun(run: ServerRun, expectFail: Set<string>, verbose: boolean): { unexpected: number; stale: string[] } {
  console.log(`MCP conformance (server scenarios) against ${run.target}\n`);
  let unexpected = 0;
  const stale: string[] = [];
  for (const list of ["active", "pending"] as const) {
    const xs = run.scenarios.filter((s) => s.list === list);
    if (xs.length === 0) continue;
    let passed = 0;
    let failed = 0;
    let warnings = 0;
    let scenariosFailed = 0;
    console.log(`${list} scenarios:`);
    for (const s of xs) {
      passed += s.passed;
      failed += s.failed;
      warnings += s.warnings;
      if (s.failed > 0) scenariosFailed++;
      const expected = expectFail.has(s.scenario);
      if (s.failed > 0 && !expected) unexpected++;
      if (s.failed === 0 && expected) stale.push(s.scenario);
      const mark = s.failed > 0 ? (expected ? "x (expected)" : "✗") : "✓";
      console.log(`  ${mark} ${s.scenario}: ${s.passed} passed, ${s.failed} failed${s.warnings ? `, ${s.warnings} warnings` : ""}`);
      for (const c of s.checks) {
        if (c.status === "FAILURE" || (verbose && c.status === "WARNING")) console.log(`      ${c.status} ${c.name}: ${c.errorMessage ?? c.description}`);
      }
    }
    console.log(
      `  ${list}: ${xs.length - scenariosFailed}/${xs.length} scenarios passed; checks: ${passed} passed, ${failed} failed, ${warnings} warnings\n`,
    );
  }
  console.log(`suite ran in ${secs(run.suiteMs)} s (total ${secs(run.totalMs)} s incl. startup)`);
  if (run.outDir) console.log(`results kept in ${run.outDir}`);
  return { unexpected, stale };
}

function printClientRuns(runs: ClientRun[], expectFail: Set<string>, verbose: boolean): { unexpected: number; stale: string[] } {
  console.log(`MCP conformance (client scenarios) with Sentinel in the client seat\n`);
  let unexpected = 0;
  const stale: string[] = [];
  for (const r of runs) {
    const ok = scenarioOk(r);
    const expected = expectFail.has(r.scenario);
    if (!ok && !expected) unexpected++;
    if (ok && expected) stale.push(r.scenario);
    const mark = ok ? "✓" : expected ? "x (expected)" : "✗";
    console.log(`  ${mark} ${r.scenario}: ${r.passed} passed, ${r.failed} failed${r.warnings ? `, ${r.warnings} warnings` : ""} (${secs(r.ms)} s)`);
    for (const c of r.checks) {
      if (c.status === "FAILURE" || c.status === "WARNING" || verbose) {
        if (c.status !== "INFO" || verbose) console.log(`      ${c.status} ${c.name}: ${c.errorMessage ?? c.description}`);
      }
    }
    if (!ok && !verbose) console.log(r.output.replace(/^/gm, "      | "));
    if (r.outDir) console.log(`      results kept in ${r.outDir}`);
  }
  return { unexpected, stale };
}

type ModernFlags = {
  record?: string;
  sentinel: string;
  scenario?: string[];
  "expect-fail"?: string[];
  keep: boolean;
  verbose: boolean;
  only?: string;
  "backend-era"?: string;
};

/** --modern: the alpha suite directly and through Sentinel (test/conformance/modern.ts), side by side. */
async function modernCli(opts: ModernFlags): Promise<number> {
  const m = await import("../test/conformance/modern.ts");
  const all = [...m.COMPARISONS.map((c) => c.id), "client"];
  const only = opts.only ? opts.only.split(",").filter(Boolean) : all;
  const unknown = only.filter((x) => !all.includes(x));
  if (unknown.length) throw new SetupError(`--only: unknown ${unknown.join(", ")} (expected some of ${all.join(", ")})`);
  const era = opts["backend-era"];
  if (era !== undefined && !["auto", "legacy", "modern"].includes(era)) throw new SetupError("--backend-era: expected auto, legacy or modern");
  const o = { sentinel: opts.sentinel, keep: opts.keep, scenarios: opts.scenario, backendEra: era as "auto" | "legacy" | "modern" | undefined };
  const [comparisons, clients] = await Promise.all([
    m.runComparisons(only, o),
    only.includes("client") ? m.runClientComparisons(o) : Promise.resolve([]),
  ]);
  m.printComparisons(comparisons, clients, opts.verbose);
  if (opts.record) {
    const path = resolve(opts.record);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, m.renderModernMarkdown(comparisons, clients, ["bun scripts/conformance.ts", ...process.argv.slice(2)].join(" "), new Date()));
    console.log(`\nwrote ${relative(process.cwd(), path) || path}`);
  }
  const expectFail = new Set((opts["expect-fail"] ?? []).flatMap((x) => x.split(",")).filter(Boolean));
  const { direct, sentinel } = m.failures(comparisons, clients, expectFail);
  if (direct.length) console.error(`\nthe direct runs fail where the recorded baseline passes (the harness or a fixture is wrong): ${direct.join(", ")}`);
  if (sentinel.length) console.error(`\n${sentinel.length} scenario run(s) pass directly but fail through Sentinel (listed above)`);
  return direct.length ? 2 : sentinel.length ? 1 : 0;
}

async function cli(): Promise<number> {
  const { values: opts } = parseArgs({
    options: {
      url: { type: "string" },
      gateway: { type: "boolean", default: false },
      backend: { type: "string", default: "stdio" },
      client: { type: "boolean", default: false },
      record: { type: "string" },
      sentinel: { type: "string", default: DEFAULT_SENTINEL },
      scenario: { type: "string", multiple: true },
      suite: { type: "string", default: "all" },
      "spec-version": { type: "string" },
      "expect-fail": { type: "string", multiple: true },
      json: { type: "boolean", default: false },
      keep: { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      modern: { type: "boolean", default: false },
      only: { type: "string" },
      "backend-era": { type: "string" },
    },
  });
  if (opts.modern) return modernCli(opts);
  const suite = opts.suite as "all" | "active" | "pending";
  const backend = opts.backend as "stdio" | "http";
  if (!["stdio", "http"].includes(backend)) throw new SetupError(`--backend: expected stdio or http`);
  if (!["all", "active", "pending"].includes(suite)) throw new SetupError(`--suite: expected all, active or pending`);
  if ([opts.url, opts.gateway, opts.client, opts.record].filter(Boolean).length > 1) {
    throw new SetupError("--url, --gateway, --client and --record are exclusive");
  }
  const expectFail = new Set((opts["expect-fail"] ?? []).flatMap((s) => s.split(",")).filter(Boolean));
  const specVersion = opts["spec-version"];
  const common = { sentinel: opts.sentinel, specVersion, keep: opts.keep };

  if (opts.record) {
    const date = new Date();
    const argv = ["bun scripts/conformance.ts", ...process.argv.slice(2)].join(" ");
    const server = { scenarios: opts.scenario, suite, ...common };
    const [direct, ...gateways] = await Promise.all([
      runServerConformance({ mode: "fixture", ...server }),
      runServerConformance({ mode: "gateway", backend: "stdio", ...server }),
      runServerConformance({ mode: "gateway", backend: "http", ...server }),
    ]);
    const client = await Promise.all(CLIENT_SCENARIOS.map((s) => runClientConformance(s, common)));
    const bySpecVersion: Record<string, string[]> = {};
    for (const v of ["2025-06-18", "2025-11-25"]) bySpecVersion[v] = await listScenarios("server", v);
    const path = resolve(opts.record);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, renderMarkdown({ direct, gateways, client, argv, date, bySpecVersion }));
    const a = printServerRun(direct, expectFail, opts.verbose);
    console.log("");
    const b = { unexpected: 0 };
    for (const g of gateways) {
      b.unexpected += printServerRun(g, expectFail, opts.verbose).unexpected;
      console.log("");
    }
    const c = printClientRuns(client, expectFail, opts.verbose);
    console.log(`\nwrote ${relative(process.cwd(), path) || path}`);
    return a.unexpected + b.unexpected + c.unexpected > 0 ? 1 : 0;
  }

  let outcome: { unexpected: number; stale: string[] };
  if (opts.client) {
    const names = opts.scenario?.length ? opts.scenario : CLIENT_SCENARIOS;
    const runs = await Promise.all(names.map((s) => runClientConformance(s, common)));
    if (opts.json) console.log(JSON.stringify({ suiteVersion: suiteVersion(), client: runs }, null, 2));
    outcome = opts.json ? judge(runs, expectFail) : printClientRuns(runs, expectFail, opts.verbose);
    for (const s of expectFail) if (!runs.some((r) => r.scenario === s)) outcome.stale.push(s);
  } else {
    const mode = opts.url ? "url" : opts.gateway ? "gateway" : "fixture";
    const run = await runServerConformance({ mode, url: opts.url, backend, scenarios: opts.scenario, suite, ...common });
    if (opts.json) {
      console.log(JSON.stringify({ suiteVersion: suiteVersion(), ...run }, null, 2));
      outcome = judge(run.scenarios, expectFail);
    } else outcome = printServerRun(run, expectFail, opts.verbose);
    for (const s of expectFail) {
      if (!run.scenarios.some((r) => r.scenario === s) && !opts.scenario?.length && suite === "all") outcome.stale.push(s);
    }
  }
  if (outcome.stale.length) console.error(`stale --expect-fail entries (these passed or did not run): ${outcome.stale.join(", ")}`);
  return outcome.unexpected > 0 || outcome.stale.length > 0 ? 1 : 0;
}

if (import.meta.main) {
  let code: number;
  try {
    code = await cli();
  } catch (err) {
    console.error(`conformance: ${err instanceof SetupError ? err.message : (err as Error).stack}`);
    code = 2;
  }
  process.exit(code);
}
