// The conformance 0.2.0-alpha suite (the `conformance-next` alias, run under npm's Node 22) directly and through
// Sentinel, side by side: `bun scripts/conformance.ts --modern [--record FILE]` runs what is below.
//
// Server comparisons (each: direct | through Sentinel, stdio backend | through Sentinel, HTTP backend):
//   - `--requirements 2026-07-28` against test/fixtures/modern-server.ts --era dual (the suite's 2026 names);
//   - `--requirements 2025-11-25` against test/fixtures/conformance-server.ts, the SDK v1 fixture the 0.1.16
//     comparison (RESULTS.md) uses: the legacy path must not regress;
//   - `--requirements 2025-11-25` against the modern fixture again: a 2025 client in front of a modern backend.
// Through Sentinel: `dist/sentinel serve --http` (anonymous access, no policy) with the fixture as its only
// backend, prefix "" so that the suite's names pass unchanged; the HTTP backend is the same fixture served over
// Streamable HTTP. The backend's `era` is left to Sentinel's default unless --backend-era says otherwise.
//
// Client comparison (`client --scenario S --spec-version 2026-07-28`, the non-auth scenarios of the 2026
// requirement set): the suite's mock server graded against the v2 SDK client talking to it directly (the
// reference: it shows the scenario steps are right), and against Sentinel as the client, driven over stdio by
// test/conformance/sentinel-client.ts --modern.
//
// Tests use answersDiscover() (skip modern cases until the binary has its modern fronts) and runSeat() (one seat,
// for test/conformance/modern-smoke.test.ts).

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Check,
  DEFAULT_SENTINEL,
  FIXTURE,
  listsFixtureTools,
  MODERN_FIXTURE,
  NEXT_CLI,
  NODE22,
  nextSuiteVersion,
  ROOT,
  SENTINEL_CLIENT,
  type ScenarioResult,
  scenarioChecks,
  SetupError,
  tally,
  waitForLine,
} from "../../scripts/conformance.ts";

const BUN = process.execPath;

/** The non-auth client scenarios of `--requirements 2026-07-28` (auth/* need an OAuth-capable front client). */
export const MODERN_CLIENT_SCENARIOS = [
  "tools_call",
  "request-metadata",
  "sep-2322-client-request-state",
  "http-standard-headers",
  "http-custom-headers",
  "http-invalid-tool-headers",
  "json-schema-ref-no-deref",
];

export type Fixture = "modern" | "legacy";
export type Seat = "direct" | "stdio" | "http";
export const SEATS: readonly Seat[] = ["direct", "stdio", "http"];

export type ModernScenario = ScenarioResult & { scored: boolean };
export type SeatRun = {
  seat: Seat;
  /** Empty if the run could not be made (see `error`). */
  scenarios: ModernScenario[];
  suiteMs: number;
  /** What got in the way of a fair run, e.g. a gateway that never listed the fixture's tools. */
  notes: string[];
  error?: string;
};
export type Comparison = {
  id: string;
  requirements: string;
  fixture: Fixture;
  title: string;
  seats: SeatRun[];
};

export type ModernOptions = {
  sentinel?: string;
  /** `era` of the backend in Sentinel's config; unset: Sentinel's default. */
  backendEra?: "auto" | "legacy" | "modern";
  keep?: boolean;
  scenarios?: string[];
};

export const COMPARISONS: { id: string; requirements: string; fixture: Fixture; title: string }[] = [
  { id: "2026", requirements: "2026-07-28", fixture: "modern", title: "--requirements 2026-07-28, modern fixture (--era dual)" },
  { id: "2025", requirements: "2025-11-25", fixture: "legacy", title: "--requirements 2025-11-25, legacy fixture (conformance-server.ts, SDK v1)" },
  { id: "2025-modern", requirements: "2025-11-25", fixture: "modern", title: "--requirements 2025-11-25, modern fixture (--era dual): a 2025 client, a modern backend" },
  // Directly the 2025 fixture cannot pass the 2026 suite; through Sentinel it is a 2026-07-28 client of a 2025 backend.
  { id: "2026-legacy", requirements: "2026-07-28", fixture: "legacy", title: "--requirements 2026-07-28, legacy fixture (conformance-server.ts, SDK v1): a 2026 client, a 2025 backend" },
];

// ---------------------------------------------------------------------------------------------------------
// Processes

type Children = Bun.Subprocess[];

function fixtureCommand(fixture: Fixture, transport: "stdio" | "http"): string[] {
  const http = transport === "http" ? ["--transport", "http", "--port", "0"] : [];
  return fixture === "modern" ? [MODERN_FIXTURE, "--era", "dual", ...http] : [FIXTURE, ...http];
}

async function startFixtureHttp(children: Children, fixture: Fixture): Promise<string> {
  const child = Bun.spawn([BUN, ...fixtureCommand(fixture, "http")], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  children.push(child);
  void new Response(child.stderr).text(); // drained: the v2 SDK reports every rejected probe there
  return waitForLine(child.stdout, /^LISTENING (\S+)$/m, `${fixture} fixture`);
}

/** The last lines a child wrote to a stream, kept for notes, while the stream is drained. */
function tail(stream: ReadableStream<Uint8Array>, keep = 40): () => string {
  const lines: string[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of stream) {
        buf += decoder.decode(chunk, { stream: true });
        const parts = buf.split("\n");
        buf = parts.pop()!;
        lines.push(...parts);
        if (lines.length > keep) lines.splice(0, lines.length - keep);
      }
    } catch {}
  })();
  return () => lines.join("\n");
}

/**
 * `sentinel serve --http` with the fixture as its only backend (prefix ""). Resolves once the fixture's tools are
 * listed through the gateway; a gateway that never lists them is still returned, with a note, so that the suite
 * runs and the report shows what it saw.
 */
async function startSentinel(children: Children, workDir: string, fixture: Fixture, backend: "stdio" | "http", o: ModernOptions) {
  const sentinel = o.sentinel ?? DEFAULT_SENTINEL;
  if (!existsSync(sentinel)) throw new SetupError(`${sentinel} not found (run \`bun run build\` first or pass --sentinel PATH)`);
  const where = backend === "http" ? { url: await startFixtureHttp(children, fixture) } : { command: BUN, args: fixtureCommand(fixture, "stdio") };
  const cfg = join(workDir, "sentinel.json");
  const conf = { ...where, prefix: "", ...(o.backendEra && { era: o.backendEra }) };
  const config = { http: { host: "127.0.0.1" }, identity: { anonymous: { roles: [] } }, audit: { path: join(workDir, "audit.db") }, backends: { conf } };
  writeFileSync(cfg, JSON.stringify(config, null, 2));
  const child = Bun.spawn([sentinel, "serve", "--http", "--config", cfg, "--port", "0"], { cwd: ROOT, stdout: "ignore", stderr: "pipe" });
  children.push(child);
  const [forReady, forTail] = child.stderr.tee();
  const stderr = tail(forTail);
  const url = await waitForLine(forReady, /listening on (\S+)/, "sentinel");
  const notes: string[] = [];
  if (!(await listsFixtureTools(url, 15_000, () => child.exitCode !== null))) {
    notes.push(`Sentinel never listed the fixture's tools within 15 s; its stderr ended:\n${stderr().split("\n").slice(-8).join("\n")}`);
  }

  return { url, notes };
}

/** Runs `tasks` with at most `n` at a time (2 cores: the suite, Sentinel and the fixture share them). */
async function pool<T>(n: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

/** Whether a Sentinel binary's stdio front answers server/discover offering 2026-07-28 (its modern fronts are in). */
export async function answersDiscover(sentinel = DEFAULT_SENTINEL): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), "sentinel-discover-probe-"));
  try {
    const cfg = join(dir, "sentinel.json");
    writeFileSync(cfg, JSON.stringify({ audit: { path: join(dir, "audit.db") }, backends: {} }));
    const proc = Bun.spawn([sentinel, "--config", cfg], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
    proc.stdin.write(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "server/discover", params: {} }) + "\n");
    proc.stdin.end();
    const out = await new Response(proc.stdout).text();
    await proc.exited;
    return (JSON.parse(out.split("\n")[0]!).result?.supportedVersions ?? []).includes("2026-07-28");
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Server scenarios

export async function runSeat(requirements: string, fixture: Fixture, seat: Seat, o: ModernOptions): Promise<SeatRun> {
  if (!existsSync(NODE22)) throw new SetupError(`${NODE22} not found (npm ci installs it from the \`node\` devDependency)`);
  const children: Children = [];
  const workDir = mkdtempSync(join(tmpdir(), `sentinel-conformance-${seat}-`));
  const outDir = join(workDir, "results");
  try {
    const { url, notes } = seat === "direct" ? { url: await startFixtureHttp(children, fixture), notes: [] } : await startSentinel(children, workDir, fixture, seat, o);
    // --scenario runs lose the scored/unscored split (the suite prints it for --requirements only).
    const runs = o.scenarios?.length ? o.scenarios.map((s) => ["--scenario", s, "--spec-version", requirements]) : [["--requirements", requirements]];
    const unscored = new Set<string>();
    const t0 = performance.now();
    for (const sel of runs) {
      const proc = Bun.spawn([NODE22, NEXT_CLI, "server", "--url", url, ...sel, "-o", outDir], { cwd: workDir, stdout: "pipe", stderr: "pipe" });
      const [out] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      // "Not scored for <set>: ..." is followed by one "  ✗|✓ name (reason)" line per unscored scenario.
      for (const m of (out.split(/^Not scored for /m)[1] ?? "").matchAll(/^\s+\S+ (\S+) \(/gm)) unscored.add(m[1]!);
    }
    const suiteMs = performance.now() - t0;
    const found = scenarioChecks(outDir);
    if (found.length === 0) return { seat, scenarios: [], suiteMs, notes, error: `the suite wrote no results for ${url}` };
    const scenarios = found.map(({ scenario, checks }) => ({ ...tally(scenario, "active", checks), scored: !unscored.has(scenario) }));
    scenarios.sort((a, b) => Number(b.scored) - Number(a.scored));
    return { seat, scenarios, suiteMs, notes };
  } catch (err) {
    if (!(err instanceof SetupError) || seat === "direct") throw err;
    return { seat, scenarios: [], suiteMs: 0, notes: [], error: err.message };
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(children.map((c) => c.exited));
    if (!o.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

export async function runComparisons(ids: string[], o: ModernOptions = {}): Promise<Comparison[]> {
  const chosen = COMPARISONS.filter((c) => ids.includes(c.id));
  const seats = await pool(
    3,
    chosen.flatMap((c) => SEATS.map((seat) => () => runSeat(c.requirements, c.fixture, seat, o))),
  );
  return chosen.map((c, i) => ({ ...c, seats: seats.slice(i * SEATS.length, (i + 1) * SEATS.length) }));
}

// ---------------------------------------------------------------------------------------------------------
// Client scenarios

export type ClientSeat = "direct" | "sentinel";
export type ClientSeatRun = ScenarioResult & { seat: ClientSeat; exitCode: number; output: string; ms: number };
export type ClientComparison = { scenario: string; direct: ClientSeatRun; sentinel: ClientSeatRun };

async function runClientSeat(scenario: string, seat: ClientSeat, o: ModernOptions): Promise<ClientSeatRun> {
  const sentinel = o.sentinel ?? DEFAULT_SENTINEL;
  if (seat === "sentinel" && !existsSync(sentinel)) throw new SetupError(`${sentinel} not found (run \`bun run build\` first)`);
  // The suite splits --command on spaces (then runs it through a shell) and appends the server URL.
  if (/\s/.test(BUN + SENTINEL_CLIENT)) throw new SetupError(`paths with spaces are not supported: ${BUN} ${SENTINEL_CLIENT}`);
  const workDir = mkdtempSync(join(tmpdir(), `sentinel-conformance-client-${seat}-`));
  const outDir = join(workDir, "results");
  const command = `${BUN} ${SENTINEL_CLIENT} --${seat === "direct" ? "direct" : "modern"}`;
  const t0 = performance.now();
  try {
    const args = ["client", "--command", command, "--scenario", scenario, "--spec-version", "2026-07-28", "--timeout", "30000", "-o", outDir];
    const env = { ...process.env, SENTINEL_BIN: sentinel, ...(o.backendEra && { SENTINEL_BACKEND_ERA: o.backendEra }) };
    const proc = Bun.spawn([NODE22, NEXT_CLI, ...args], { cwd: workDir, stdout: "pipe", stderr: "pipe", env });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    const saved = (out + err).match(/Results saved to (.+)/)?.[1]?.trim();
    if (!saved || !existsSync(join(saved, "checks.json"))) throw new SetupError(`no results for client scenario ${scenario} (${seat}):\n${out}${err}`);
    const checks = JSON.parse(readFileSync(join(saved, "checks.json"), "utf8")) as Check[];
    return { ...tally(scenario, "client", checks), seat, exitCode: code, output: out + err, ms: performance.now() - t0 };
  } finally {
    if (!o.keep) rmSync(workDir, { recursive: true, force: true });
  }
}

export async function runClientComparisons(o: ModernOptions = {}): Promise<ClientComparison[]> {
  const names = MODERN_CLIENT_SCENARIOS.filter((s) => !o.scenarios?.length || o.scenarios.includes(s));
  const runs = await pool(
    3,
    names.flatMap((s) => (["direct", "sentinel"] as const).map((seat) => () => runClientSeat(s, seat, o))),
  );
  return names.map((scenario, i) => ({ scenario, direct: runs[2 * i]!, sentinel: runs[2 * i + 1]! }));
}

// ---------------------------------------------------------------------------------------------------------
// Verdicts and reports

/** A server scenario passes with no FAILURE check; a client one also needs the suite's verdict and a passed check. */
export function passes(s: ScenarioResult | ClientSeatRun | undefined): boolean {
  if (!s) return false;
  return "exitCode" in s ? s.exitCode === 0 && s.failed === 0 && s.warnings === 0 && s.passed > 0 : s.failed === 0;
}

const SEAT_LABEL: Record<Seat, string> = { direct: "direct", stdio: "through Sentinel (stdio backend)", http: "through Sentinel (HTTP backend)" };
const counts = (s: ScenarioResult) => `${s.passed}/${s.failed}${s.warnings ? ` (${s.warnings}w)` : ""}`;
const cell = (s?: ScenarioResult) => (s ? `${s.failed === 0 ? "✓" : "✗"} ${counts(s)}` : "—");
const secs = (ms: number) => (ms / 1000).toFixed(1);
const oneLine = (t: string, max = 220) => {
  const s = t.replace(/\s+/g, " ").trim();
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

function names(c: Comparison): { scenario: string; scored: boolean }[] {
  const seen = new Map<string, boolean>();
  for (const r of c.seats) for (const s of r.scenarios) if (!seen.has(s.scenario)) seen.set(s.scenario, s.scored);
  const all = [...seen].map(([scenario, scored]) => ({ scenario, scored }));
  return [...all.filter((x) => x.scored), ...all.filter((x) => !x.scored)];
}

function find(run: SeatRun, scenario: string) {
  return run.scenarios.find((s) => s.scenario === scenario);
}

/** The regressions the gateway work has to fix: scenarios passing directly but failing through a gateway seat. */
export type Regression = { scenario: string; scored: boolean; seats: { seat: Seat; checks: Check[]; ran: boolean }[] };

export function regressions(c: Comparison): Regression[] {
  const direct = c.seats.find((r) => r.seat === "direct")!;
  const out: Regression[] = [];
  for (const { scenario, scored } of names(c)) {
    if (!passes(find(direct, scenario))) continue;
    const seats = c.seats
      .filter((r) => r.seat !== "direct")
      .map((r) => ({ r, s: find(r, scenario) }))
      .filter(({ s }) => !passes(s))
      .map(({ r, s }) => ({ seat: r.seat, ran: s !== undefined, checks: s?.checks.filter((k) => k.status === "FAILURE") ?? [] }));
    if (seats.length) out.push({ scenario, scored, seats });
  }
  return out;
}

/**
 * Scenarios with passed checks directly that grade nothing through a gateway seat (0 passed, 0 failed): they pass
 * vacuously there, e.g. server-sse-polling, whose SSE checks the suite skips when Sentinel answers in JSON.
 */
export function unexercised(c: Comparison): { scenario: string; seats: Seat[] }[] {
  const direct = c.seats.find((r) => r.seat === "direct")!;
  return names(c)
    .filter(({ scenario }) => (find(direct, scenario)?.passed ?? 0) > 0)
    .map(({ scenario }) => ({
      scenario,
      seats: c.seats.filter((r) => r.seat !== "direct" && !r.error).filter((r) => {
        const s = find(r, scenario);
        return s !== undefined && s.passed === 0 && s.failed === 0;
      }).map((r) => r.seat),
    }))
    .filter((x) => x.seats.length > 0);
}

/**
 * Checks that pass directly but not through Sentinel, in scenarios whose verdict is the same: the suite skipped
 * them there (SKIPPED or INFO) or never emitted them. `ids` are "check-id (status through Sentinel)".
 */
export function passedOnlyDirectly(direct: ScenarioResult | undefined, other: ScenarioResult | undefined): string[] {
  if (!direct || !other) return [];
  const left = new Map<string, number>();
  for (const k of other.checks) if (k.status === "SUCCESS") left.set(k.id, (left.get(k.id) ?? 0) + 1);
  const out: string[] = [];
  for (const k of direct.checks) {
    if (k.status !== "SUCCESS") continue;
    const n = left.get(k.id) ?? 0;
    if (n > 0) {
      left.set(k.id, n - 1);
      continue;
    }
    const there = [...new Set(other.checks.filter((o) => o.id === k.id).map((o) => o.status))];
    out.push(`${k.id} (${there.length ? there.join("/") : "not emitted"})`);
  }
  return out;
}

/** Per scenario with the same verdict everywhere: the seats where some directly passed check did not pass. */
export function checkDiffs(c: Comparison): { scenario: string; seats: { seat: Seat; ids: string[] }[] }[] {
  const direct = c.seats.find((r) => r.seat === "direct")!;
  return names(c)
    .map(({ scenario }) => {
      const d = find(direct, scenario);
      const seats = c.seats
        .filter((r) => r.seat !== "direct" && passes(find(r, scenario)) === passes(d))
        .map((r) => ({ seat: r.seat, ids: passedOnlyDirectly(d, find(r, scenario)) }))
        .filter((x) => x.ids.length > 0);
      return { scenario, seats };
    })
    .filter((x) => x.seats.length > 0);
}

function totals(run: SeatRun) {
  const scored = run.scenarios.filter((s) => s.scored);
  const sum = (k: "passed" | "failed" | "warnings") => scored.reduce((a, s) => a + s[k], 0);
  return { ok: scored.filter(passes).length, of: scored.length, passed: sum("passed"), failed: sum("failed"), warnings: sum("warnings") };
}

/** Plain-text report for the terminal: per comparison a table, then the list of what fails only through Sentinel. */
export function printComparisons(cs: Comparison[], clients: ClientComparison[], verbose = false): void {
  for (const c of cs) {
    console.log(`\n== conformance ${nextSuiteVersion()} ${c.title}`);
    const rows = names(c).map(({ scenario, scored }) => [
      scenario + (scored ? "" : " (unscored)"),
      ...c.seats.map((r) => (r.error ? "error" : cell(find(r, scenario)))),
    ]);
    const head = ["scenario", ...c.seats.map((r) => SEAT_LABEL[r.seat])];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) => "  " + r.map((x, i) => x.padEnd(widths[i]!)).join("  ");
    console.log(line(head));
    for (const r of rows) console.log(line(r));
    console.log(line(["required scenarios passed", ...c.seats.map((r) => (r.error ? "error" : `${totals(r).ok}/${totals(r).of}`))]));
    console.log(line(["required checks passed/failed", ...c.seats.map((r) => (r.error ? "error" : `${totals(r).passed}/${totals(r).failed}`))]));
    for (const r of c.seats) {
      if (r.error) console.log(`  ${SEAT_LABEL[r.seat]}: could not run: ${r.error}`);
      for (const n of r.notes) console.log(`  ${SEAT_LABEL[r.seat]}: ${n.replace(/\n/g, "\n    ")}`);
    }
    for (const u of unexercised(c)) console.log(`  note: ${u.scenario} grades checks directly but none through Sentinel (${u.seats.join(", ")}): it passes there vacuously`);
    for (const d of checkDiffs(c)) {
      for (const s of d.seats) console.log(`  note: ${d.scenario}, ${s.seat}: passed directly, not here: ${s.ids.join(", ")}`);
    }
    const reg = regressions(c);
    console.log(reg.length ? `\n  Pass directly, fail through Sentinel (${reg.length}):` : "\n  Nothing passes directly and fails through Sentinel.");
    for (const g of reg) {
      console.log(`  - ${g.scenario}${g.scored ? "" : " (unscored)"}: ${g.seats.map((s) => s.seat).join(", ")}`);
      const shown = verbose ? g.seats : g.seats.slice(0, 1);
      for (const s of shown) {
        if (!s.ran) console.log(`      ${s.seat}: did not run`);
        for (const k of s.checks.slice(0, verbose ? 99 : 2)) console.log(`      ${s.seat}: ${k.id}: ${oneLine(k.errorMessage ?? k.description, 160)}`);
        if (!verbose && s.checks.length > 2) console.log(`      ${s.seat}: … ${s.checks.length - 2} more failed checks (--verbose)`);
      }
    }
  }
  if (clients.length) {
    console.log(`\n== conformance ${nextSuiteVersion()} client scenarios (--spec-version 2026-07-28): v2 SDK client directly | Sentinel as the client`);
    const w = Math.max(...clients.map((c) => c.scenario.length));
    const verdict = (r: ClientSeatRun) => `${passes(r) ? "✓" : "✗"} ${counts(r)}${r.exitCode ? ` exit ${r.exitCode}` : ""}`;
    for (const c of clients) console.log(`  ${c.scenario.padEnd(w)}  ${verdict(c.direct).padEnd(18)}  ${verdict(c.sentinel)}`);
    for (const c of clients) {
      const ids = passedOnlyDirectly(c.direct, c.sentinel);
      if (ids.length && passes(c.sentinel)) console.log(`  note: ${c.scenario}: passed with the v2 client, not with Sentinel: ${ids.join(", ")}`);
    }
    const bad = clients.filter((c) => passes(c.direct) && !passes(c.sentinel));
    console.log(bad.length ? `\n  Pass with the v2 client, fail with Sentinel as the client (${bad.length}):` : "\n  Every scenario the v2 client passes, Sentinel passes too.");
    for (const c of bad) {
      console.log(`  - ${c.scenario}`);
      for (const k of c.sentinel.checks.filter((k) => k.status === "FAILURE" || k.status === "WARNING").slice(0, verbose ? 99 : 3)) {
        console.log(`      ${k.status} ${k.id}: ${oneLine(k.errorMessage ?? k.description, 160)}`);
      }
      const failed = c.sentinel.output.match(/\[sentinel-client [^\]]+\] FAILED: .*/)?.[0];
      if (failed) console.log(`      ${oneLine(failed, 200)}`);
    }
    for (const c of clients.filter((c) => !passes(c.direct))) {
      console.log(`  ! ${c.scenario}: the v2 client itself fails it (exit ${c.direct.exitCode}); the harness's steps may be wrong:`);
      console.log(c.direct.output.split("\n").filter((l) => /FAILURE|FAILED|Error/.test(l)).slice(0, 6).map((l) => `      ${oneLine(l, 200)}`).join("\n"));
    }
  }
}

/** Unexpected failures: a scored scenario or client scenario that fails directly, or that fails through Sentinel. */
export function failures(cs: Comparison[], clients: ClientComparison[], expectFail: Set<string>): { direct: string[]; sentinel: string[] } {
  const direct: string[] = [];
  const sentinel: string[] = [];
  for (const c of cs) {
    for (const r of c.seats) {
      if (r.error) (r.seat === "direct" ? direct : sentinel).push(`${c.id}/${r.seat}: ${r.error}`);
      for (const s of r.scenarios) {
        if (!s.scored || passes(s) || expectFail.has(s.scenario)) continue;
        // Directly, a scenario counts against the run unless the fixture fails it by design (EXPECTED_DIRECT_FAILURES).
        if (r.seat === "direct") {
          const expected = EXPECTED_DIRECT_FAILURES[c.id];
          if (expected !== "all" && !expected?.includes(s.scenario)) direct.push(`${c.id}/direct: ${s.scenario}`);
        } else if (passes(find(c.seats[0]!, s.scenario))) sentinel.push(`${c.id}/${r.seat}: ${s.scenario}`);
      }
    }
  }
  for (const c of clients) {
    if (!passes(c.direct)) direct.push(`client/direct: ${c.scenario}`);
    else if (!passes(c.sentinel) && !expectFail.has(c.scenario)) sentinel.push(`client/sentinel: ${c.scenario}`);
  }
  return { direct, sentinel };
}

/**
 * The required scenarios the fixtures fail directly, by design: the modern fixture serves 2025 clients over
 * stateless HTTP (no session, so no server->client requests and no subscriptions). See RESULTS-2026-07-28.md.
 */
/** What a reader needs to read a comparison's table right. */
const COMPARISON_NOTES: Record<string, string> = {
  "2026-legacy":
    "A 2025 server cannot answer the 2026-07-28 suite itself (the direct column). Through Sentinel it can, but for the scenarios " +
    "that call tools only a 2026 server has: the MRTR ones call `test_input_required_result_*` tools with keys the suite fixes " +
    "(Sentinel's own parking of a 2025 backend's requests is tested in test/e2e/modern-front.test.ts), and server-stateless's " +
    "four failures are its \"not testable\" checks (`test_missing_capability`, `test_streaming_elicitation`, `test_logging_tool`).",
};

export const EXPECTED_DIRECT_FAILURES: Record<string, string[] | "all"> = {
  // A 2025 server answers no 2026-07-28 request; the column shows what Sentinel's translation adds.
  "2026-legacy": "all",
  "2025-modern": [
    "tools-call-sampling",
    "tools-call-elicitation",
    "elicitation-sep1034-defaults",
    "elicitation-sep1330-enums",
    "resources-subscribe",
    "resources-unsubscribe",
  ],
};

export function renderModernMarkdown(cs: Comparison[], clients: ClientComparison[], argv: string, date: Date): string {
  const L: string[] = [];
  const node = Bun.spawnSync([NODE22, "--version"]).stdout.toString().trim();
  const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
  const dirty = Bun.spawnSync(["git", "status", "--porcelain", "--", "src"], { cwd: ROOT }).stdout.toString().trim() !== "";
  L.push("# MCP conformance, 2026-07-28 era: directly and through Sentinel");
  L.push("");
  L.push(`<!-- Generated by \`${argv}\`; do not edit by hand. -->`);
  L.push("");
  L.push(`- Suite: @modelcontextprotocol/conformance ${nextSuiteVersion()} (the \`conformance-next\` alias) under Node ${node} (\`node_modules/node/bin/node\`)`);
  L.push(`- Sentinel: \`dist/sentinel\` built from ${commit || "?"}${dirty ? " with uncommitted changes in src/" : ""}`);
  L.push(`- Date: ${date.toISOString()}`);
  L.push(`- Regenerate: \`bun run build && ${argv}\``);
  L.push("");
  L.push("Seats: **direct** is the suite against the fixture itself over Streamable HTTP. **Through Sentinel** is the suite");
  L.push("against `dist/sentinel serve --http` (anonymous access, no policy) whose only backend is the same fixture, prefix `\"\"`,");
  L.push("run by Sentinel as a stdio child (**stdio backend**) or reached over Streamable HTTP (**HTTP backend**). The modern");
  L.push("fixture is `test/fixtures/modern-server.ts --era dual` (SDK v2); the legacy one is `test/fixtures/conformance-server.ts`");
  L.push("(SDK v1), the server RESULTS.md compares with the 0.1.16 suite. Cells are checks passed/failed (w: warnings); a");
  L.push("server scenario passes with no FAILURE check. Unscored scenarios run but are not part of the requirement set.");
  L.push("");
  L.push("## Summary");
  L.push("");
  L.push(`| comparison | ${SEATS.map((s) => SEAT_LABEL[s]).join(" | ")} | pass directly, fail through Sentinel |`);
  L.push(`|---|${SEATS.map(() => "---|").join("")}---|`);
  for (const c of cs) {
    const t = c.seats.map((r) => (r.error ? "could not run" : `${totals(r).ok}/${totals(r).of} (checks ${totals(r).passed}/${totals(r).failed})`));
    L.push(`| ${c.title} | ${t.join(" | ")} | ${regressions(c).filter((g) => g.scored).length} required, ${regressions(c).filter((g) => !g.scored).length} unscored |`);
  }
  if (clients.length) {
    const ok = (k: "direct" | "sentinel") => clients.filter((c) => passes(c[k])).length;
    L.push(`| client scenarios, --spec-version 2026-07-28 (non-auth) | v2 SDK client: ${ok("direct")}/${clients.length} | Sentinel as the client: ${ok("sentinel")}/${clients.length} | | ${clients.filter((c) => passes(c.direct) && !passes(c.sentinel)).length} |`);
  }
  L.push("");
  for (const c of cs) {
    L.push(`## ${c.title}`);
    L.push("");
    const note = COMPARISON_NOTES[c.id];
    if (note) L.push(note, "");
    const reg = regressions(c);
    if (reg.length) {
      L.push(`### Pass directly, fail through Sentinel (${reg.length})`);
      L.push("");
      for (const g of reg) {
        L.push(`- \`${g.scenario}\`${g.scored ? "" : " (unscored)"}: fails ${g.seats.map((s) => SEAT_LABEL[s.seat]).join(" and ")}`);
        // One seat's checks, or each seat's when they differ.
        const distinct = new Map<string, Seat[]>();
        for (const s of g.seats) {
          const key = s.ran ? s.checks.map((k) => `${k.id}: ${oneLine(k.errorMessage ?? k.description)}`).join("\n") : "(did not run)";
          distinct.set(key, [...(distinct.get(key) ?? []), s.seat]);
        }
        for (const [key, seats] of distinct) {
          const who = distinct.size > 1 ? ` (${seats.join(", ")})` : "";
          for (const l of key.split("\n").slice(0, 4)) L.push(`  - ${l}${who}`);
          if (key.split("\n").length > 4) L.push(`  - … ${key.split("\n").length - 4} more failed checks${who}`);
        }
      }
      L.push("");
    } else {
      L.push("Nothing passes directly and fails through Sentinel.");
      L.push("");
    }
    const un = unexercised(c);
    if (un.length) {
      L.push("Graded directly, nothing graded through Sentinel (these pass there vacuously; the suite skips checks that");
      L.push("need an SSE answer when Sentinel answers in JSON):");
      L.push("");
      for (const u of un) L.push(`- \`${u.scenario}\`: ${u.seats.map((s) => SEAT_LABEL[s]).join(", ")}`);
      L.push("");
    }
    const diffs = checkDiffs(c);
    if (diffs.length) {
      L.push("Same verdict, but checks that pass directly do not pass through Sentinel (status there in brackets):");
      L.push("");
      for (const d of diffs) for (const s of d.seats) L.push(`- \`${d.scenario}\`, ${SEAT_LABEL[s.seat]}: ${s.ids.join(", ")}`);
      L.push("");
    }
    for (const r of c.seats) {
      if (r.error) L.push(`- ${SEAT_LABEL[r.seat]}: could not run: ${oneLine(r.error, 400)}`);
      for (const n of r.notes) L.push(`- ${SEAT_LABEL[r.seat]}: ${oneLine(n, 600)}`);
    }
    if (c.seats.some((r) => r.error || r.notes.length)) L.push("");
    L.push(`| scenario | scored | ${c.seats.map((r) => SEAT_LABEL[r.seat]).join(" | ")} |`);
    L.push(`|---|---|${c.seats.map(() => "---|").join("")}`);
    for (const { scenario, scored } of names(c)) L.push(`| ${scenario} | ${scored ? "yes" : "no"} | ${c.seats.map((r) => cell(find(r, scenario))).join(" | ")} |`);
    L.push(`| **required scenarios passed** | | ${c.seats.map((r) => (r.error ? "—" : `${totals(r).ok}/${totals(r).of}`)).join(" | ")} |`);
    L.push(`| **required checks passed/failed** | | ${c.seats.map((r) => (r.error ? "—" : `${totals(r).passed}/${totals(r).failed}`)).join(" | ")} |`);
    L.push(`| suite time | | ${c.seats.map((r) => `${secs(r.suiteMs)} s`).join(" | ")} |`);
    L.push("");
    const directBad = c.seats[0]!.scenarios.flatMap((s) => s.checks.filter((k) => k.status === "FAILURE").map((k) => ({ s, k })));
    if (directBad.length) {
      L.push(`<details><summary>What the fixture itself fails here (${directBad.length} checks; not Sentinel's)</summary>`);
      L.push("");
      for (const { s, k } of directBad) L.push(`- ${s.scored ? "" : "(unscored) "}\`${s.scenario}\` ${k.id}: ${oneLine(k.errorMessage ?? k.description)}`);
      L.push("");
      L.push("</details>");
      L.push("");
    }
  }
  if (clients.length) {
    L.push("## Client scenarios, --spec-version 2026-07-28");
    L.push("");
    L.push("The suite starts its mock server and runs `bun test/conformance/sentinel-client.ts --direct|--modern <serverUrl>`.");
    L.push("`--direct`: a v2 SDK client pinned to 2026-07-28 does the scenario's steps against the mock itself (the");
    L.push("reference: it shows the steps are right). `--modern`: Sentinel (`dist/sentinel --config <tmp>`, stdio front) has");
    L.push("the mock as its only backend (`{ \"url\": <serverUrl>, \"prefix\": \"\" }`) and a v2 SDK client in `auto` mode drives it,");
    L.push("so the suite grades Sentinel's outbound traffic. A client scenario passes with no FAILURE or WARNING, a passed check");
    L.push("and a zero client exit. `auth/*` scenarios are not run (the front client has no OAuth to do).");
    L.push("");
    L.push("| scenario | v2 SDK client directly | Sentinel as the client | Sentinel's failed checks | passed directly, not with Sentinel |");
    L.push("|---|---|---|---|---|");
    for (const c of clients) {
      const v = (r: ClientSeatRun) => `${passes(r) ? "✓" : "✗"} ${counts(r)}${r.exitCode ? `, exit ${r.exitCode}` : ""}`;
      const bad = c.sentinel.checks.filter((k) => k.status === "FAILURE" || k.status === "WARNING").map((k) => `${k.id} ${k.status}`);
      L.push(`| ${c.scenario} | ${v(c.direct)} | ${v(c.sentinel)} | ${[...new Set(bad)].join(", ")} | ${passedOnlyDirectly(c.direct, c.sentinel).join(", ")} |`);
    }
    L.push("");
    const bad = clients.filter((c) => passes(c.direct) && !passes(c.sentinel));
    if (bad.length) {
      L.push(`### Pass with the v2 client, fail with Sentinel as the client (${bad.length})`);
      L.push("");
      for (const c of bad) {
        L.push(`- \`${c.scenario}\``);
        const seen = new Set<string>();
        for (const k of c.sentinel.checks.filter((k) => k.status === "FAILURE" || k.status === "WARNING")) {
          const l = `${k.id} ${k.status}: ${oneLine(k.errorMessage ?? k.description)}`;
          if (!seen.has(l)) L.push(`  - ${l}`), seen.add(l);
        }
        const failed = c.sentinel.output.match(/\[sentinel-client [^\]]+\] FAILED: .*/)?.[0];
        if (failed) L.push(`  - driver: ${oneLine(failed)}`);
      }
      L.push("");
    }
  }
  return L.join("\n");
}
