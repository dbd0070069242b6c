// What a reloaded config changes against the running one: which backends are
// added, removed or changed (each compared whole), which other sections
// differ, and which of those only a restart can apply.

import type { Config } from "./load.ts";

export type ConfigChanges = {
  added: string[];
  removed: string[];
  changed: string[];
  /** Top-level sections that differ, besides backends. */
  sections: string[];
  /** What differs but applies only after a restart (the listening address, the database file, metrics on or off, tracing, the modern section). */
  needRestart: string[];
};

// A disabled backend is not run, so for a reload it is as good as absent.
const running = (c: Config) => new Map(c.backends.filter((b) => !b.disabled).map((b) => [b.name, JSON.stringify(b)]));

export function changesBetween(before: Config, after: Config): ConfigChanges {
  const a = running(before);
  const b = running(after);
  const added = [...b.keys()].filter((n) => !a.has(n));
  const removed = [...a.keys()].filter((n) => !b.has(n));
  const changed = [...b.keys()].filter((n) => a.has(n) && a.get(n) !== b.get(n));
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  keys.delete("backends");
  const sections = [...keys].filter((k) => JSON.stringify(before[k as keyof Config]) !== JSON.stringify(after[k as keyof Config]));
  const needRestart: string[] = [];
  if (before.http.host !== after.http.host || before.http.port !== after.http.port) needRestart.push("http.host/port");
  if (before.audit.path !== after.audit.path) needRestart.push("audit.path");
  if (before.audit.enabled !== after.audit.enabled) needRestart.push("audit.enabled");
  if (before.metrics.enabled !== after.metrics.enabled) needRestart.push("metrics.enabled");
  if (JSON.stringify(before.tracing) !== JSON.stringify(after.tracing)) needRestart.push("tracing");
  if (JSON.stringify(before.modern) !== JSON.stringify(after.modern)) needRestart.push("modern");
  return { added, removed, changed, sections, needRestart };
}

/** One line for the log and the event: what changed. */
export function describeChanges(c: ConfigChanges): string {
  const parts = [
    c.added.length && `backends added: ${c.added.join(", ")}`,
    c.removed.length && `removed: ${c.removed.join(", ")}`,
    c.changed.length && `restarted: ${c.changed.join(", ")}`,
    c.sections.length && `sections: ${c.sections.join(", ")}`,
    c.needRestart.length && `needs a restart to apply: ${c.needRestart.join(", ")}`,
  ].filter(Boolean);
  return parts.length ? parts.join("; ") : "nothing changed";
}
