// Timed calls against a running target: sequential latency with the gateway
// tree's CPU over exactly the timed calls, and throughput with N calls in flight.

import type { Row, Target } from "./rows.ts";
import { treeCpuNs } from "./processes.ts";
import { percentile } from "./stats.ts";

export type Latency = { p50: number; p99: number; mean: number; cpuPerCall: number };

const args = (i: number) => ({ text: `call ${i}` });

async function callOk(row: Row, target: Target, i: number): Promise<void> {
  const res = await target.rpc.call("tools/call", { name: row.setup.tool, arguments: args(i) }, row.era === "2026-07-28");
  if (!res.result || res.result.isError) throw new Error(`${row.id}: ${JSON.stringify(res).slice(0, 300)}`);
}

/** µs per call; CPU in µs per call of the gateway tree (NaN for a direct row). */
export async function latency(row: Row, target: Target, calls: number, warmup: number): Promise<Latency> {
  for (let i = 0; i < warmup; i++) await callOk(row, target, i);
  const times = new Array<number>(calls);
  const cpu0 = target.pid ? treeCpuNs(target.pid) : 0;
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await callOk(row, target, i);
    times[i] = (performance.now() - t) * 1000;
  }
  const cpuPerCall = target.pid ? (treeCpuNs(target.pid) - cpu0) / 1000 / calls : NaN;
  const mean = times.reduce((a, b) => a + b, 0) / calls;
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99), mean, cpuPerCall };
}

/** Calls per second with `concurrency` calls kept in flight until `calls` are answered. */
export async function throughput(row: Row, target: Target, calls: number, concurrency: number): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < calls) await callOk(row, target, next++);
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return calls / ((performance.now() - t) / 1000);
}
