// The goals (same run, 2-core machine), judged against this run's figures.
// A goal with nothing measured (its row filtered out, or skipped) is neither pass nor fail.

import type { Goal, Results, RowResult } from "./results.ts";
import type { Path } from "./rows.ts";

const fmt = (n: number, unit: string) => (Number.isFinite(n) ? `${n.toFixed(1)} ${unit}` : "n/a");
const judge = (n: number, ok: boolean): boolean | null => (Number.isFinite(n) ? ok : null);

function sentinel(r: Results, path: Path, era = "2025-11-25"): RowResult | undefined {
  return r.rows.find((x) => x.impl === "sentinel" && x.path === path && x.era === era && x.status === "ok");
}

export function goals(r: Results): Goal[] {
  const out: Goal[] = [];
  const cpu = (path: Path, limit: number) => {
    const v = sentinel(r, path)?.cpuPerCall ?? NaN;
    out.push({ goal: `CPU/call ${path}, full pipeline`, limit: `≤ ${limit} µs`, measured: fmt(v, "µs"), pass: judge(v, v <= limit) });
  };
  cpu("stdio->stdio", 30);
  cpu("HTTP->stdio", 60);
  cpu("HTTP->HTTP", 100);
  cpu("stdio->HTTP", 100);
  for (const path of ["stdio->stdio", "HTTP->HTTP"] as const) {
    const v = sentinel(r, path)?.addedUs ?? NaN;
    out.push({ goal: `added p50 ${path} over direct`, limit: "≤ +100 µs", measured: fmt(v, "µs"), pass: judge(v, v <= 100) });
  }
  const idle = r.idle?.rssMb ?? NaN;
  out.push({ goal: `idle RSS, ${r.idle?.backends ?? 5} backends (children not counted)`, limit: "≤ 40 MB", measured: fmt(idle, "MB"), pass: judge(idle, idle <= 40) });
  const peaks = r.rows.filter((x) => x.impl === "sentinel" && x.status === "ok").map((x) => x.peakRssMb);
  const peak = peaks.length ? Math.max(...peaks) : NaN;
  out.push({ goal: "peak RSS under load (any Sentinel row)", limit: "≤ 64 MB", measured: fmt(peak, "MB"), pass: judge(peak, peak <= 64) });
  // "No growth": RSS after the last tenth of the calls within 10% of RSS after the first tenth (allocator and JIT settle).
  const s = r.soak;
  const growth = s ? s.growthMb : NaN;
  out.push({
    goal: `no growth over a ${s ? s.calls / 1000 : 100}k-call soak`,
    limit: "last ≤ first + 10%",
    measured: s ? `${s.firstMb.toFixed(1)} -> ${s.lastMb.toFixed(1)} MB (${growth >= 0 ? "+" : ""}${growth.toFixed(1)})` : "n/a",
    pass: s ? judge(growth, s.lastMb <= s.firstMb * 1.1) : null,
  });
  for (const l of r.large) {
    out.push({ goal: `${l.mib} MiB result, ${l.front} front: RSS rise`, limit: `≤ 3x (${3 * l.mib} MB)`, measured: `${l.riseMb.toFixed(1)} MB (${l.ratio.toFixed(2)}x)`, pass: l.ratio <= 3 });
  }
  if (!r.large.length) out.push({ goal: "20 MiB result: RSS rise", limit: "≤ 3x", measured: "n/a", pass: null });
  const cold = r.coldStart.find((c) => c.label === "sentinel stdio, no backends")?.ms ?? NaN;
  out.push({ goal: "cold start to first tools/list (backends excluded)", limit: "≤ 100 ms", measured: fmt(cold, "ms"), pass: judge(cold, cold <= 100) });
  // Modern no dearer than legacy: CPU/call within 10% (+1 µs) of the same process's legacy calls; rounds vary by about that much.
  for (const path of ["stdio->stdio", "HTTP->stdio", "HTTP->HTTP", "stdio->HTTP"] as const) {
    const legacy = sentinel(r, path)?.cpuPerCall ?? NaN;
    const modern = sentinel(r, path, "2026-07-28")?.cpuPerCall ?? NaN;
    const ok = modern <= legacy * 1.1 + 1;
    out.push({ goal: `2026-07-28 CPU/call ≤ legacy, ${path}`, limit: "≤ legacy +10%", measured: `${fmt(modern, "µs")} vs ${fmt(legacy, "µs")}`, pass: judge(modern + legacy, ok) });
  }
  return out;
}
