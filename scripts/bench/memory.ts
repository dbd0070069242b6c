// Sentinel-only memory figures: idle RSS with five backends configured, RSS over
// a long soak, and the peak RSS rise while relaying one large result.

import { payload } from "../../test/fixtures/payload.ts";
import { httpClient, open, type Rpc } from "./clients.ts";
import { killTree, resetPeaks, treeMb } from "./processes.ts";
import { startHttpFront, startStdioFront, stdioBackend, token, writeConfig } from "./sentinel.ts";

export type Idle = { backends: number; rssMb: number; anonMb: number };

/** The HTTP front with five stdio backends, after 2 s idle; the backends (children) are not counted. */
export async function idleWithBackends(count = 5): Promise<Idle> {
  const backends = Object.fromEntries(Array.from({ length: count }, (_, i) => [`echo${i}`, stdioBackend(`echo${i}`)]));
  const { proc } = await startHttpFront(writeConfig(backends));
  await Bun.sleep(2000);
  const idle = { backends: count, rssMb: treeMb(proc.pid, "VmRSS"), anonMb: treeMb(proc.pid, "RssAnon") };
  await killTree(proc.pid, proc.exited);
  return idle;
}

export type Soak = { calls: number; every: number; concurrency: number; samplesMb: number[]; firstMb: number; lastMb: number; maxMb: number; growthMb: number };

/** Calls through the stdio front, sampling the gateway's RSS every `every` calls. */
export async function soak(calls: number, every = 10_000, concurrency = 8): Promise<Soak> {
  const { rpc, proc } = startStdioFront(writeConfig());
  await open(rpc);
  const samplesMb: number[] = [];
  let done = 0;
  let failed: unknown = null;
  const worker = async () => {
    while (done < calls && !failed) {
      const a = await rpc.call("tools/call", { name: "echo__echo", arguments: { text: `soak ${done}` } });
      if (!a.result) failed = a;
      if (++done % every === 0) samplesMb.push(treeMb(proc.pid, "VmRSS"));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  rpc.close();
  await killTree(proc.pid, proc.exited);
  if (failed) throw new Error(`soak call failed: ${JSON.stringify(failed).slice(0, 300)}`);
  const firstMb = samplesMb[0] ?? NaN;
  const lastMb = samplesMb.at(-1) ?? NaN;
  return { calls, every, concurrency, samplesMb, firstMb, lastMb, maxMb: Math.max(...samplesMb), growthMb: lastMb - firstMb };
}

export type Large = { front: "stdio" | "HTTP"; mib: number; beforeMb: number; riseMb: number; ratio: number; ms: number };

/** One `mib` MiB result through each front; the rise is the peak (VmHWM, reset first) above the RSS before. */
export async function largeResult(mib: number): Promise<Large[]> {
  const bytes = mib * 1024 * 1024;
  const expected = payload(bytes);
  const out: Large[] = [];
  for (const front of ["stdio", "HTTP"] as const) {
    let rpc: Rpc;
    let pid: number;
    let stop: () => Promise<void>;
    if (front === "stdio") {
      const s = startStdioFront(writeConfig());
      (rpc = s.rpc), (pid = s.proc.pid), (stop = async () => (s.rpc.close(), await killTree(s.proc.pid, s.proc.exited)));
    } else {
      const h = await startHttpFront(writeConfig());
      (rpc = httpClient(h.url, token)), (pid = h.proc.pid), (stop = () => killTree(h.proc.pid, h.proc.exited));
    }
    await open(rpc);
    await rpc.call("tools/call", { name: "echo__big", arguments: { bytes: 1024, varied: true } });
    const beforeMb = treeMb(pid, "VmRSS");
    resetPeaks(pid);
    const t = performance.now();
    const a = await rpc.call("tools/call", { name: "echo__big", arguments: { bytes, varied: true } });
    const ms = performance.now() - t;
    if (a.result?.content?.[0]?.text !== expected) throw new Error(`${front}: the ${mib} MiB result differs`);
    const riseMb = treeMb(pid, "VmHWM") - beforeMb;
    out.push({ front, mib, beforeMb, riseMb, ratio: riseMb / mib, ms });
    await stop();
  }
  return out;
}
