// Command-line flags of scripts/bench.ts.

import { parseArgs } from "node:util";
import { join } from "node:path";
import { ROOT } from "./backend.ts";

export type Options = {
  quick: boolean;
  calls: number;
  warmup: number;
  rounds: number;
  throughputCalls: number;
  concurrencies: number[];
  peers: boolean;
  only: string | null;
  out: string;
  soakCalls: number;
  largeMib: number;
  coldRuns: number;
};

export const USAGE = `Usage: bun scripts/bench.ts [--quick] [--calls N] [--rounds N] [--no-peers] [--only TEXT] [--out DIR] [--soak N] [--no-soak] [--no-large]`;

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: "boolean", default: false },
      calls: { type: "string" },
      rounds: { type: "string" },
      "no-peers": { type: "boolean", default: false },
      only: { type: "string" },
      out: { type: "string" },
      soak: { type: "string" },
      "no-soak": { type: "boolean", default: false },
      "no-large": { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) console.log(USAGE), process.exit(0);
  const quick = values.quick!;
  const int = (v: string | undefined, fallback: number, min = 0) => {
    const n = v === undefined ? fallback : Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`expected a whole number ≥ ${min}, got ${v}\n${USAGE}`);
    return n;
  };
  const calls = int(values.calls, quick ? 200 : 2000, 1);
  return {
    quick,
    calls,
    warmup: Math.min(200, calls),
    rounds: int(values.rounds, quick ? 1 : 3, 1),
    throughputCalls: Math.min(calls, 2000),
    concurrencies: [1, 8, 32],
    peers: !values["no-peers"],
    only: values.only ?? null,
    out: values.out ?? join(ROOT, "bench-results"),
    soakCalls: quick || values["no-soak"] ? 0 : int(values.soak, 100_000),
    largeMib: quick || values["no-large"] ? 0 : 20,
    coldRuns: quick ? 3 : 5,
  };
}
