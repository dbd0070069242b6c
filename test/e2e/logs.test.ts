// server.logFormat: json through dist/sentinel: every stderr line is one JSON object (time, level,
// component, message), a call's line carries the request id its audit row has, and secrets stay masked.
import { expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { auditRows, eventually, INIT, rawStdio, stdioFixture, tempDir, writeConfig } from "./harness.ts";

test("JSON log lines, joined to audit rows by request id", async () => {
  const secret = "s3cret-value-that-must-not-show";
  const dir = tempDir();
  writeFileSync(join(dir, "token"), secret);
  const path = writeConfig(dir, {
    server: { logFormat: "json", logLevel: "debug" },
    identity: { local: { sub: "local" } },
    backends: { alpha: stdioFixture("alpha", { env: { API_TOKEN: `\${file:${join(dir, "token")}}` } }) },
  });
  const raw = rawStdio(path);
  try {
    raw.write(JSON.stringify(INIT) + "\n");
    expect((await raw.next()).id).toBe(0);
    raw.write(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "alpha__env", arguments: { name: "API_TOKEN" } } }) + "\n");
    expect((await raw.next()).id).toBe(1);
    const row = await eventually(async () => (await auditRows(path)).find((r) => r.target === "alpha__env"));
    const requestId = (row as unknown as { request_id: string }).request_id;
    expect(requestId).toMatch(/^[a-z0-9]+-[a-z0-9]+$/);
    const line = await eventually(() =>
      raw
        .stderr()
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.requestId === requestId),
    );
    expect(line).toMatchObject({ level: "debug", component: "pipeline", backend: "alpha" });
    expect(String(line!.message)).toContain("tools/call alpha__env");
    expect(Date.parse(String(line!.time))).toBeGreaterThan(0);
    // Every line is JSON, and the secret appears in none.
    for (const l of raw.stderr().split("\n").filter(Boolean)) expect(() => JSON.parse(l)).not.toThrow();
    expect(raw.stderr()).not.toContain(secret);
  } finally {
    await raw.close();
  }
});
