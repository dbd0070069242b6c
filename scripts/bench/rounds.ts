// The rows' run: start every setup once, take idle memory, then interleaved
// rounds of sequential calls, throughput at each concurrency, and the peaks.
// While a row is measured, every other setup is paused (SIGSTOP).

import type { Latency } from "./measure.ts";
import { latencies, throughput } from "./measure.ts";
import type { Options } from "./options.ts";
import type { PeerName } from "./peers.ts";
import { resetPeaks, signalTrees, treeCpuNs, treeMb } from "./processes.ts";
import type { RowResult } from "./results.ts";
import { isPeer, type Row, type Setup, type Target } from "./rows.ts";
import { median, shuffle } from "./stats.ts";

export async function runRows(rows: Row[], opts: Options, peerProblems: Map<PeerName, string>, progress: (msg: string) => void): Promise<RowResult[]> {
  const results = new Map<Row, RowResult>(
    rows.map((r) => [r, { id: r.id, path: r.path, impl: r.impl, era: r.era, status: "ok", p50: NaN, p99: NaN, cpuPerCall: NaN, addedUs: NaN, rounds: [], callsPerSec: {}, idleRssMb: NaN, idleAnonMb: NaN, idleCpuMsPerS: NaN, peakRssMb: NaN }]),
  );
  const fail = (row: Row, status: string) => (results.get(row)!.status = status);

  // 1. Start every setup, once: processes stay up across rounds.
  const targets = new Map<Setup, Target>();
  for (const setup of new Set(rows.map((r) => r.setup))) {
    const problem = isPeer(setup.impl) ? peerProblems.get(setup.impl) : undefined;
    try {
      if (problem) throw new Error(problem);
      progress(`starting ${setup.path} ${setup.impl}`);
      targets.set(setup, await setup.start());
    } catch (err) {
      for (const r of rows) if (r.setup === setup) fail(r, problem ?? `failed to start: ${String(err).slice(0, 120)}`);
    }
  }
  const live = () => rows.filter((r) => results.get(r)!.status === "ok" && targets.has(r.setup));
  /** Runs `measure` with every other setup paused. */
  const alone = async <T>(r: Row, measure: (t: Target) => Promise<T>): Promise<T> => {
    const others = [...targets].filter(([s]) => s !== r.setup).flatMap(([, t]) => t.roots);
    signalTrees(others, "SIGSTOP");
    try {
      return await measure(targets.get(r.setup)!);
    } finally {
      signalTrees(others, "SIGCONT");
    }
  };

  // 2. Idle memory, before any load; then the peaks count from here.
  await Bun.sleep(opts.quick ? 500 : 2000);
  for (const r of live()) {
    const pid = targets.get(r.setup)!.pid;
    if (!pid) continue;
    Object.assign(results.get(r)!, { idleRssMb: treeMb(pid, "VmRSS"), idleAnonMb: treeMb(pid, "RssAnon") });
  }
  // Idle CPU: what a gateway left open costs (timers, the runtime's GC timer), all of them idle together.
  const idleMs = opts.quick ? 500 : 3000;
  const before = new Map(live().map((r) => [r, targets.get(r.setup)!.pid ? treeCpuNs(targets.get(r.setup)!.pid!) : NaN]));
  await Bun.sleep(idleMs);
  for (const [r, ns] of before) {
    const pid = targets.get(r.setup)!.pid;
    if (pid) results.get(r)!.idleCpuMsPerS = (treeCpuNs(pid) - ns) / 1e6 / (idleMs / 1000);
  }
  for (const t of targets.values()) if (t.pid) resetPeaks(t.pid);

  // 3. Interleaved rounds: every setup once per round, in a fresh order, so drift on a shared machine
  // spreads over all rows; the eras of one process in alternating blocks (measure.ts).
  for (let round = 1; round <= opts.rounds; round++) {
    progress(`round ${round}/${opts.rounds}`);
    const bySetup = Map.groupBy(live(), (r) => r.setup);
    for (const group of shuffle([...bySetup.values()])) {
      try {
        const figures = await alone(group[0]!, (t) => latencies(group, t, opts.calls, opts.warmup));
        group.forEach((r, k) => results.get(r)!.rounds.push(figures[k]!));
      } catch (err) {
        for (const r of group) fail(r, `failed: ${String(err).slice(0, 120)}`);
      }
    }
  }

  // 4. Throughput at each concurrency.
  progress("throughput");
  for (const r of live()) {
    for (const c of opts.concurrencies) {
      try {
        results.get(r)!.callsPerSec[`c${c}`] = await alone(r, (t) => throughput(r, t, opts.throughputCalls, c));
      } catch (err) {
        fail(r, `failed at c${c}: ${String(err).slice(0, 120)}`);
      }
    }
  }

  // 5. Peak memory under all that load, then stop everything.
  for (const r of rows) {
    const pid = targets.get(r.setup)?.pid;
    if (pid) results.get(r)!.peakRssMb = treeMb(pid, "VmHWM");
  }
  for (const t of targets.values()) await t.stop();

  // Medians over rounds; added µs against the direct row with the same backend transport.
  const pick = (rounds: Latency[], k: keyof Latency) => median(rounds.map((x) => x[k]));
  for (const res of results.values()) Object.assign(res, { p50: pick(res.rounds, "p50"), p99: pick(res.rounds, "p99"), cpuPerCall: pick(res.rounds, "cpuPerCall") });
  for (const res of results.values()) {
    const backend = res.path.split("->")[1];
    const direct = [...results.values()].find((d) => d.impl === "direct" && d.path.endsWith(`->${backend}`) && d.status === "ok");
    res.addedUs = res.p50 - (direct?.p50 ?? NaN);
  }

  return [...results.values()];
}
