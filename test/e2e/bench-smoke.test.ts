// The benchmark harness still runs end to end: a quick pass without the npm
// peers gives every Sentinel path finite figures and judges the goals. The
// figures themselves are for scripts/bench.ts to print, not for a test to assert.

import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BUN, ROOT, tempDir } from "./harness.ts";

test("bench --quick --no-peers writes every Sentinel row and the goals", async () => {
  const out = tempDir();
  const proc = Bun.spawn([BUN, join(ROOT, "scripts/bench.ts"), "--quick", "--no-peers", "--calls", "50", "--out", out], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, stderr: code ? stderr : "" }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toContain("Goals:");

  const files = readdirSync(out).filter((f) => f.endsWith(".json"));
  expect(files).toHaveLength(1);
  const run = JSON.parse(readFileSync(join(out, files[0]!), "utf8"));
  for (const path of ["stdio->stdio", "HTTP->stdio", "HTTP->HTTP", "stdio->HTTP"]) {
    for (const era of ["2025-11-25", "2026-07-28"]) {
      const row = run.rows.find((r: { impl: string; path: string; era: string }) => r.impl === "sentinel" && r.path === path && r.era === era);
      expect(row?.status).toBe("ok");
      expect(row.p50).toBeGreaterThan(0);
      expect(row.cpuPerCall).toBeGreaterThan(0);
      expect(Number.isFinite(row.p50) && Number.isFinite(row.cpuPerCall)).toBe(true);
    }
  }
  expect(run.goals.length).toBeGreaterThan(5);
  expect(run.goals.every((g: { pass: unknown }) => g.pass === true || g.pass === false || g.pass === null)).toBe(true);
  expect(run.machine.cores).toBeGreaterThan(0);
}, 20_000);
