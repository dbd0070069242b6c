// Rates in config: "10/min", "100/s", "5000/h", "1/sec": a budget of calls per period.

import * as v from "valibot";

const pattern = /^(\d+)\s*\/\s*(s|sec|second|m|min|minute|h|hour|d|day)$/;
const PERIODS: Record<string, number> = { s: 1000, sec: 1000, second: 1000, m: 60_000, min: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000, d: 86_400_000, day: 86_400_000 };

/** A budget: `limit` calls per `periodMs`; `text` is what the config said, for messages. */
export function parseRate(text: string) {
  const m = pattern.exec(text.trim())!;
  return { limit: Number(m[1]), periodMs: PERIODS[m[2]!]!, text };
}

export const rate = v.pipe(
  v.string("expected a rate such as 10/min"),
  v.regex(pattern, "expected a rate such as 10/min, 100/s or 5000/h"),
  v.transform(parseRate),
);

export type Rate = v.InferOutput<typeof rate>;
