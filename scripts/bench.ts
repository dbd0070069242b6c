// npm run bench: Sentinel's fronts and backend transports against the direct
// floor and the npm peers, all in front of the same echo fixture. Prints Markdown
// tables and goals on stdout (progress on stderr) and writes bench-results/<time>.json.
// See BENCHMARKS.md for the columns, flags and SENTINEL_BENCH_* switches.

import { coldStarts } from "./bench/coldstart.ts";
import { goals } from "./bench/goals.ts";
import { machine } from "./bench/machine.ts";
import { idleWithBackends, largeResult, soak } from "./bench/memory.ts";
import { parseOptions } from "./bench/options.ts";
import { installPeers, PEERS, type PeerName } from "./bench/peers.ts";
import { tree } from "./bench/processes.ts";
import { render, writeJson } from "./bench/report.ts";
import type { Results } from "./bench/results.ts";
import { runRows } from "./bench/rounds.ts";
import { buildRelay } from "./bench/relays.ts";
import { rowsOf, SETUPS } from "./bench/rows.ts";
import { assertBinary, gatewayInfo } from "./bench/sentinel.ts";

const opts = parseOptions(Bun.argv.slice(2));
assertBinary();
// Whatever happens, nothing this run started outlives it (HTTP peers do not stop on their own).
process.on("exit", () => {
  for (const pid of tree(process.pid, true).slice(1)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
});
const t0 = performance.now();
const progress = (msg: string) => console.error(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);

const peerProblems: Map<PeerName, string> = opts.peers
  ? installPeers()
  : new Map((Object.keys(PEERS) as PeerName[]).map((p) => [p, "skipped (--no-peers)"]));
buildRelay();
const usablePeers = new Set((Object.keys(PEERS) as PeerName[]).filter((p) => !peerProblems.has(p)));

const rows = await runRows(SETUPS.flatMap(rowsOf).filter((r) => !opts.only || r.id.includes(opts.only)), opts, peerProblems, progress);

// Cold starts and Sentinel's memory extras (skipped with --only: they are not rows).
// One failing is reported and the rest still run, so a run never loses its table.
const problems: string[] = [];
async function extra<T>(label: string, wanted: boolean, run: () => Promise<T>, none: T): Promise<T> {
  if (!wanted || opts.only) return none;
  progress(label);
  try {
    return await run();
  } catch (err) {
    problems.push(`${label}: ${String(err).slice(0, 200)}`);
    return none;
  }
}
const coldStart = await extra("cold starts", true, () => coldStarts(opts.coldRuns, usablePeers), []);
const idle = await extra("idle RSS with 5 backends", true, () => idleWithBackends(5), null);
const soaked = await extra(`soak of ${opts.soakCalls} calls`, opts.soakCalls > 0, () => soak(opts.soakCalls, Math.max(1, Math.floor(opts.soakCalls / 10))), null);
const large = await extra(`${opts.largeMib} MiB result`, opts.largeMib > 0, () => largeResult(opts.largeMib), []);

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("SENTINEL_BENCH_")) as [string, string][]);
const run: Results = {
  date: new Date().toISOString(),
  machine: machine(),
  gateway: gatewayInfo(),
  options: opts,
  env,
  rows,
  coldStart,
  idle,
  soak: soaked,
  large,
  goals: [],
  problems,
  seconds: (performance.now() - t0) / 1000,
};
run.goals = goals(run);
console.log(render(run));
console.log(`\nJSON: ${writeJson(opts.out, run)}`);
process.exit(0);
