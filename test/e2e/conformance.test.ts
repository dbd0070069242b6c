// The official MCP conformance suite (@modelcontextprotocol/conformance), run through scripts/conformance.ts:
//  - server scenarios against test/fixtures/conformance-server.ts directly and through `sentinel serve --http`
//    fronting it, once as a stdio backend and once as a Streamable HTTP backend (so Sentinel's HTTP client is in
//    the path too): Sentinel must pass everything and agree with the direct run, scenario by scenario;
//  - client scenarios with Sentinel in the client seat (test/conformance/sentinel-client.ts): the suite's test
//    server is Sentinel's backend, and the suite grades what Sentinel sends it.
// test/conformance/RESULTS.md is a recorded run: `bun scripts/conformance.ts --record test/conformance/RESULTS.md`.

import { beforeAll, describe, expect, test } from "bun:test";
import {
  CLIENT_SCENARIOS,
  type ClientRun,
  type Check,
  listScenarios,
  runClientConformance,
  runServerConformance,
  type ScenarioResult,
  type ServerRun,
} from "../../scripts/conformance.ts";
import { BIN } from "./harness.ts";

/**
 * Scenarios that grade the shape of the HTTP answer rather than its content: an SSE stream with a priming
 * event and `retry`, or several concurrent SSE streams. The fixture answers those POSTs with SSE; Sentinel
 * answers with JSON unless the backend sends something mid-call, which the spec allows, and the suite then
 * skips the SSE-only checks (INFO instead of SUCCESS/WARNING). Only the verdict is compared for these.
 */
const TRANSPORT_SHAPED = new Set(["server-sse-multiple-streams", "server-sse-polling"]);

const graded = (s: ScenarioResult) => s.checks.filter((c) => c.status !== "INFO").map((c: Check) => `${c.id} ${c.status}`);
const problems = (s: ScenarioResult) =>
  s.checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING").map((c) => `${s.scenario}: ${c.status} ${c.name}: ${c.errorMessage ?? c.description}`);

describe("conformance suite, server scenarios", () => {
  let direct: ServerRun;
  const gateways: Record<"stdio" | "http", ServerRun> = {} as never;
  let all: string[];
  let latest: string[];

  beforeAll(async () => {
    [direct, gateways.stdio, gateways.http, all, latest] = await Promise.all([
      runServerConformance({ mode: "fixture", suite: "all" }),
      runServerConformance({ mode: "gateway", backend: "stdio", suite: "all", sentinel: BIN }),
      runServerConformance({ mode: "gateway", backend: "http", suite: "all", sentinel: BIN }),
      listScenarios("server"),
      listScenarios("server", "2025-11-25"),
    ]);
  }, 30_000);

  test("every server scenario of the suite ran, directly and through Sentinel", () => {
    expect(all.length).toBeGreaterThan(25);
    for (const run of [direct, gateways.stdio, gateways.http]) expect(run.scenarios.map((s) => s.scenario).sort()).toEqual([...all].sort());
  });

  test("--spec-version 2025-11-25 selects no other scenario than --suite all (so it needs no run of its own)", () => {
    // The suite's --spec-version only filters (cumulatively); it does not change what a scenario sends.
    expect([...latest].sort()).toEqual([...all].sort());
  });

  test("directly: the fixture passes every scenario (the baseline is sound)", () => {
    expect(direct.scenarios.flatMap((s) => problems(s).filter((p) => p.includes(": FAILURE ")))).toEqual([]);
  });

  for (const backend of ["stdio", "http"] as const) {
    test(`through Sentinel (${backend} backend): every scenario passes, zero failed checks, every active one passed checks`, () => {
      const gateway = gateways[backend];
      expect(gateway.scenarios.flatMap((s) => problems(s).filter((p) => p.includes(": FAILURE ")))).toEqual([]);
      expect(gateway.scenarios.filter((s) => s.list === "active" && s.passed === 0).map((s) => s.scenario)).toEqual([]);
    });

    test(`through Sentinel (${backend} backend): per scenario, the same verdict and graded checks as directly`, () => {
      const byName = new Map(direct.scenarios.map((s) => [s.scenario, s]));
      const diff: string[] = [];
      for (const g of gateways[backend].scenarios) {
        const d = byName.get(g.scenario)!;
        if ((d.failed === 0) !== (g.failed === 0)) diff.push(`${g.scenario}: direct ${d.failed ? "fails" : "passes"}, through Sentinel ${g.failed ? "fails" : "passes"}`);
        if (TRANSPORT_SHAPED.has(g.scenario)) continue;
        const [a, b] = [graded(d), graded(g)];
        if (JSON.stringify(a) !== JSON.stringify(b)) diff.push(`${g.scenario}: direct [${a.join(", ")}] vs through Sentinel [${b.join(", ")}]`);
      }
      expect(diff).toEqual([]);
    });
  }
});

describe("conformance suite, client scenarios with Sentinel in the client seat", () => {
  const runs = new Map<string, ClientRun>();
  let listed: string[];

  beforeAll(async () => {
    const [results, names] = await Promise.all([
      Promise.all(CLIENT_SCENARIOS.map((s) => runClientConformance(s, { sentinel: BIN, timeoutMs: 20_000 }))),
      listScenarios("client"),
    ]);
    for (const r of results) runs.set(r.scenario, r);
    listed = names;
  }, 30_000);

  test("every non-auth client scenario of the suite is covered", () => {
    expect(listed.filter((s) => !s.startsWith("auth/")).sort()).toEqual([...CLIENT_SCENARIOS].sort());
  });

  for (const scenario of CLIENT_SCENARIOS) {
    test(scenario, () => {
      const r = runs.get(scenario)!;
      // A client that never connects gets 0/0 and "PASSED" from some scenarios: insist on passed checks.
      const verdict = { exitCode: r.exitCode, failed: r.failed, warnings: r.warnings, passedSome: r.passed > 0, problems: problems(r) };
      if (verdict.exitCode !== 0 || verdict.failed || verdict.warnings || !verdict.passedSome) console.error(r.output);
      expect(verdict).toEqual({ exitCode: 0, failed: 0, warnings: 0, passedSome: true, problems: [] });
    });
  }
});
