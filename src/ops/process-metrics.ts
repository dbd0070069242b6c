// The standard process_* metrics every Prometheus client exports, read at a
// scrape: from /proc/self on Linux, else from what the runtime tells. node:fs
// is in the binary already (the audit journal); no other module is loaded.

import { readdirSync, readFileSync } from "node:fs";
import type { Registry } from "./metrics.ts";

const LINUX = process.platform === "linux";

export function processMetrics(registry: Registry): void {
  registry.collect("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", [], (emit) => {
    const { user, system } = process.cpuUsage();
    emit((user + system) / 1e6);
  });
  registry.collect("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", [], (emit) => emit(process.memoryUsage.rss()));
  registry.collect("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", "gauge", [], (emit) =>
    emit(Math.floor(performance.timeOrigin) / 1000),
  );
  if (!LINUX) return;
  registry.collect("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge", [], (emit) => {
    const v = statField(20);
    if (v !== null) emit(v);
  });
  registry.collect("process_open_fds", "Number of open file descriptors.", "gauge", [], (emit) => {
    // Less the descriptor readdir holds on the directory itself.
    const n = attempt(() => readdirSync("/proc/self/fd").length - 1);
    if (n !== null) emit(n);
  });
  registry.collect("process_max_fds", "Maximum number of open file descriptors.", "gauge", [], (emit) => {
    const m = attempt(() => /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8")));
    if (m) emit(Number(m[1]));
  });
}

/** A field of /proc/self/stat, counted from the one after the command name (which may hold spaces). */
function statField(i: number): number | null {
  return attempt(() => {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const v = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[i]);
    return Number.isFinite(v) ? v : null;
  });
}

function attempt<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}
