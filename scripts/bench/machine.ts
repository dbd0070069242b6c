// The machine a run was on, for the JSON and BENCHMARKS.md.

import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { NODE } from "./peers.ts";

export type Machine = { cpu: string; cores: number; memoryGb: number; kernel: string; bun: string; node: string };

export function machine(): Machine {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model ?? "unknown";
  const node = Bun.spawnSync([NODE, "--version"]).stdout.toString().trim() || "not found";
  return { cpu: model.trim(), cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), kernel: release(), bun: Bun.version, node };
}
