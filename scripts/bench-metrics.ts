// What counting one call costs the metrics observer (ops/call-metrics.ts):
// start() and ended() for calls spread over a catalog of tools, and what a
// scrape costs to render. Run: bun scripts/bench-metrics.ts [calls]
// The pipeline's own part (the Ended record, the observation array) is not
// in this figure; scripts/bench.ts measures the whole gateway per call.

import type { Backend } from "../src/backends/backend.ts";
import type { Route } from "../src/dispatch/router.ts";
import { RateLimited } from "../src/errors.ts";
import { CallMetrics } from "../src/ops/call-metrics.ts";
import { Registry } from "../src/ops/metrics.ts";
import type { Call } from "../src/pipeline/call.ts";
import type { Ended } from "../src/pipeline/observe.ts";

const CALLS = Number(process.argv[2] ?? 5_000_000);
const TOOLS = 50;

const backends = ["alpha", "beta"].map((name) => ({ name }) as Backend);
const tools = new Map<string, unknown>();
const routes: Route[] = [];
for (let i = 0; i < TOOLS; i++) {
  const backend = backends[i % 2]!;
  const target = `${backend.name}__tool${i}`;
  tools.set(target, {});
  routes.push({ kind: "tool", method: "tools/call", target, backend, params: {}, args: {} });
}
const call = { request: { jsonrpc: "2.0", id: 1, method: "tools/call" } } as unknown as Call;
const allowed = { decision: "allowed" as const, rule: null };
// Mostly successes, as in production, with a refusal now and then.
const ended: Ended[] = routes.map((route, i) =>
  i % 10 === 9
    ? { route, verdict: { decision: "rate_limited", rule: "perIdentity" }, error: new RateLimited("perIdentity", 1000), toolError: false, cancelled: false, totalUs: 40, backendUs: 0 }
    : { route, verdict: allowed, error: null, toolError: false, cancelled: false, totalUs: 180 + i, backendUs: 120 + i },
);

const registry = new Registry();
const metrics = new CallMetrics(registry, { formerOwner: (_kind, name) => tools.get(name), withheld: new Map() });

function run(n: number): number {
  const t = Bun.nanoseconds();
  for (let i = 0; i < n; i++) metrics.start(call).ended(ended[i % TOOLS]!);
  return (Bun.nanoseconds() - t) / n;
}

run(200_000); // warm up: every series made, the JIT settled
const rounds = [run(CALLS), run(CALLS), run(CALLS)];
console.log(`counting a call (start + ended), ${TOOLS} tools, ${CALLS} calls per round: ${rounds.map((ns) => ns.toFixed(1)).join(" / ")} ns/call`);

const t = Bun.nanoseconds();
const SCRAPES = 200;
let bytes = 0;
for (let i = 0; i < SCRAPES; i++) bytes = registry.render().length;
console.log(`rendering a scrape of these series (${(bytes / 1024).toFixed(1)} KiB): ${((Bun.nanoseconds() - t) / SCRAPES / 1000).toFixed(0)} µs`);
