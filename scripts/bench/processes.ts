// CPU and memory of a gateway's process tree, read from /proc (Linux). The
// backend fixtures are not the gateway: they, and anything under them, are left out.

import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const BACKEND_MARK = "echo-server.ts";

function read(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null; // The process or thread ended between the listing and the read.
  }
}

function childrenByParent(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    if (!stat) continue;
    // The command name may hold spaces and parentheses: the ppid is the 2nd field after the last ")".
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = map.get(ppid) ?? [];
    list.push(Number(name));
    map.set(ppid, list);
  }
  return map;
}

const isBackend = (pid: number) => (read(`/proc/${pid}/cmdline`) ?? "").includes(BACKEND_MARK);

/** The root and its descendants; with `withBackends` false, backend fixtures and their subtrees are skipped. */
export function tree(root: number, withBackends = false): number[] {
  const kids = childrenByParent();
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    if (!withBackends && pid !== root && isBackend(pid)) continue;
    out.push(pid);
    stack.push(...(kids.get(pid) ?? []));
  }
  return out;
}

/**
 * CPU time of every thread of the tree, in ns (/proc/PID/task/TID/schedstat).
 * utime + stime from /proc/PID/stat count 10 ms ticks: over a few thousand calls
 * that quantisation is as large as the differences being measured.
 */
export function treeCpuNs(root: number): number {
  let ns = 0;
  for (const pid of tree(root)) {
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) ns += Number((read(`/proc/${pid}/task/${tid}/schedstat`) ?? "0").split(" ")[0]);
  }
  return ns;
}

export type MemField = "VmRSS" | "RssAnon" | "VmHWM";

export function statusKb(pid: number, field: MemField): number {
  const m = new RegExp(`${field}:\\s+(\\d+)`).exec(read(`/proc/${pid}/status`) ?? "");
  return m ? Number(m[1]) : 0;
}

/**
 * Memory of the tree without backends, in MB. RssFile (the binary's pages) moves
 * by ~3 MB between two builds of the same source, with the page cache: RssAnon is
 * what the gateway itself allocated, the figure to compare across binaries.
 */
export function treeMb(root: number, field: MemField): number {
  return tree(root).reduce((kb, pid) => kb + statusKb(pid, field), 0) / 1024;
}

/** Resets each process's peak RSS (VmHWM) to its current RSS, so a later VmHWM is the peak since now. */
export function resetPeaks(root: number): void {
  for (const pid of tree(root)) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, "5");
    } catch {
      // Gone, or not ours to reset: its peak then counts from its start.
    }
  }
}

/** SIGTERMs the whole tree, backends included, leaves first (peers spawn children that outlive a killed parent). */
export async function killTree(root: number, exited?: Promise<unknown>): Promise<void> {
  for (const pid of tree(root, true).reverse()) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // Already gone.
    }
  }
  if (exited) await Promise.race([exited, Bun.sleep(3000)]);
}

/**
 * Stops (SIGSTOP) or continues (SIGCONT) whole trees, backends included: the
 * setups not being measured are paused, so that their idle work (timers, GC,
 * a JIT finishing) does not land on the two cores the measured row runs on.
 */
export function signalTrees(roots: number[], signal: "SIGSTOP" | "SIGCONT"): void {
  for (const root of roots) {
    for (const pid of tree(root, true)) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
  }
}
