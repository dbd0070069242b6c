// Durations in config: a number of milliseconds or a string such as "500ms", "60s", "30m", "8h", "1d".

import * as v from "valibot";

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const pattern = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

/** Milliseconds, or null when the text is not a duration. */
export function parseDuration(value: string | number): number | null {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : null;
  const m = pattern.exec(value.trim());
  return m ? Math.round(Number(m[1]) * units[m[2]!]!) : null;
}

/** A duration field of the config, as milliseconds. */
export const duration = v.pipe(
  v.union([v.number(), v.string()], "expected a duration such as 500ms, 60s or 5m"),
  v.check((x) => parseDuration(x) !== null, "expected a duration such as 500ms, 60s or 5m"),
  v.transform((x) => parseDuration(x)!),
);
