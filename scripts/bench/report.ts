// The run's figures as Markdown tables on stdout (pasteable into BENCHMARKS.md)
// and as JSON in the results folder.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Results } from "./results.ts";

const num = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : "–");

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ")} |`;
  return [line(head), `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|")}|`, ...rows.map(line)].join("\n");
}

export function render(r: Results): string {
  const o = r.options;
  const out: string[] = [];
  out.push(
    `Sentinel bench, ${r.date}: ${o.rounds} interleaved round(s) of ${o.calls} sequential tools/call per row (after ${o.warmup} warm-up); ` +
      `throughput ${o.throughputCalls} calls per concurrency. Machine: ${r.machine.cpu}, ${r.machine.cores} cores, Bun ${r.machine.bun}, node ${r.machine.node}, Linux ${r.machine.kernel}.`,
  );
  const g = r.gateway;
  out.push(`Gateway: ${g.command} ${g.version}${g.binaryMb ? ` (${g.binaryMb.toFixed(1)} MB)` : ""}, source ${g.commit}${g.srcDirty ? " with uncommitted src/ changes" : ""}.`);
  if (Object.keys(r.env).length) out.push(`Switches: ${Object.entries(r.env).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  out.push("");
  const c = o.concurrencies;
  const head = ["row", "p50 µs", "p99 µs", "added µs", "CPU µs/call", ...c.map((n) => `calls/s c${n}`), "idle MB", "idle anon MB", "idle CPU ms/s", "peak MB"];
  out.push(
    table(
      head,
      r.rows.map((x) =>
        x.status !== "ok"
          ? [x.id, x.status, ...Array<string>(head.length - 2).fill("")]
          : [x.id, num(x.p50), num(x.p99), x.impl === "direct" ? "0" : (x.addedUs >= 0 ? "+" : "") + num(x.addedUs), num(x.cpuPerCall, 1), ...c.map((n) => num(x.callsPerSec[`c${n}`] ?? NaN)), num(x.idleRssMb, 1), num(x.idleAnonMb, 1), num(x.idleCpuMsPerS, 1), num(x.peakRssMb, 1)],
      ),
    ),
  );
  if (r.coldStart.length) {
    out.push("", "Cold start, spawn to the first tools/list answer (median):", "");
    out.push(table(["start", "ms", "runs", "note"], r.coldStart.map((s) => [s.label, num(s.ms, 1), s.runs.map((m) => m.toFixed(0)).join(" "), s.note])));
  }
  const mem: string[][] = [];
  if (r.idle) mem.push([`idle, HTTP front, ${r.idle.backends} stdio backends (children not counted)`, `${num(r.idle.rssMb, 1)} MB (anon ${num(r.idle.anonMb, 1)})`]);
  if (r.soak) mem.push([`soak, ${r.soak.calls} calls on the stdio front (${r.soak.concurrency} in flight), RSS every ${r.soak.every} calls`, r.soak.samplesMb.map((m) => m.toFixed(1)).join(" ") + ` MB (max ${num(r.soak.maxMb, 1)})`]);
  for (const l of r.large) mem.push([`${l.mib} MiB result, ${l.front} front`, `RSS ${num(l.beforeMb, 1)} MB before, peak +${num(l.riseMb, 1)} MB (${l.ratio.toFixed(2)}x), ${num(l.ms)} ms`]);
  if (mem.length) out.push("", "Sentinel memory:", "", table(["figure", "measured"], mem));
  out.push("", "Goals:", "", table(["goal", "limit", "measured", "result"], r.goals.map((g) => [g.goal, g.limit, g.measured, g.pass === null ? "n/a" : g.pass ? "pass" : "FAIL"])));
  if (r.problems.length) out.push("", "Not measured:", "", ...r.problems.map((p) => `- ${p}`));
  out.push("", `Took ${num(r.seconds)} s.`);
  return out.join("\n");
}

/** Writes <dir>/<ISO timestamp>.json and returns its path. */
export function writeJson(dir: string, r: Results): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${r.date.replace(/:/g, "-")}.json`);
  writeFileSync(path, JSON.stringify(r, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v), 2) + "\n");
  return path;
}
