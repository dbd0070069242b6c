// Where Sentinel keeps its files by default (XDG data dir), and "~" expansion.

import { homedir } from "node:os";
import { join } from "node:path";

export function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}

export function defaultDataDir(env: Record<string, string | undefined>): string {
  const base = env.XDG_DATA_HOME || join(homedir(), ".local", "share");
  return join(base, "sentinel");
}
