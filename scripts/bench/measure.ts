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
  return (await latencies([row], target, calls, warmup))[0]!;
}

/**
 * The same for rows of one process (its two eras), measured in alternating
 * blocks of `calls / BLOCKS` so that the machine's drift, which moves figures by
 * tens of percent within a minute here, falls on each row alike.
 */
const BLOCKS = 10;

export async function latencies(rows: Row[], target: Target, calls: number, warmup: number): Promise<Latency[]> {
  for (const row of rows) for (let i = 0; i < warmup; i++) await callOk(row, target, i);
  const times = rows.map(() => [] as number[]);
  const cpu = rows.map(() => 0);
  const blocks = rows.length > 1 ? BLOCKS : 1;
  for (let b = 0; b < blocks; b++) {
    for (const [k, row] of rows.entries()) {
      const n = Math.ceil(calls / blocks);
      const cpu0 = target.pid ? treeCpuNs(target.pid) : 0;
      for (let i = 0; i < n; i++) {
        const t = performance.now();
        await callOk(row, target, i);
        times[k]!.push((performance.now() - t) * 1000);
      }
      if (target.pid) cpu[k]! += treeCpuNs(target.pid) - cpu0;
    }
  }
  return rows.map((_, k) => {
    const ts = times[k]!;
    const mean = ts.reduce((a, b) => a + b, 0) / ts.length;
    ts.sort((a, b) => a - b);
    return { p50: percentile(ts, 0.5), p99: percentile(ts, 0.99), mean, cpuPerCall: target.pid ? cpu[k]! / 1000 / ts.length : NaN };
  });
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
