// Health through the binary: /readyz and `sentinel status`, crash loops,
// liveness pings (degraded), the circuit breaker, and retries of idempotent reads.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { auditRows, type AuditRecord, BUN, connectHttp, eventually, FIXTURE, ROOT, runCli, startHttpGateway, stdioFixture, tempDir, textOf, writeConfig, type HttpGateway } from "./harness.ts";

const FLAKY = join(ROOT, "test/fixtures/flaky-server.ts");
const flaky = (name: string, flags: string[], extra: Record<string, unknown> = {}) => ({ command: BUN, args: [FLAKY, "--name", name, ...flags], ...extra });

type Status = { name: string; state: string; era: string | null; transport: string; lastError: string | null; restarts: number; inFlight: number; circuit: { state: string; retryAfterMs?: number } };
type Ready = { ready: boolean; backends: Status[] };

async function readyz(gw: HttpGateway): Promise<{ status: number; body: Ready }> {
  const res = await fetch(new URL("/readyz", gw.url));
  return { status: res.status, body: (await res.json()) as Ready };
}

/** Polls /readyz until `check` holds of its answer. */
async function readyzWhen(gw: HttpGateway, check: (r: { status: number; body: Ready }) => boolean): Promise<{ status: number; body: Ready }> {
  let last: { status: number; body: Ready } | undefined;
  await eventually(async () => check((last = await readyz(gw))));
  return last!;
}

/** The audit rows `pick` keeps, once there are some (rows are written just after the answer). */
async function rowsOf(configPath: string, pick: (r: AuditRecord) => boolean): Promise<AuditRecord[]> {
  let rows: AuditRecord[] = [];
  await eventually(async () => (rows = (await auditRows(configPath)).filter(pick)).length > 0);
  return rows;
}

const backendOf = (r: Ready, name: string) => r.backends.find((b) => b.name === name)!;

async function rpcError(p: Promise<unknown>): Promise<{ code: number; message: string; data?: { retryAfterMs?: number } }> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; message: string; data?: { retryAfterMs?: number } };
  }
  throw new Error("expected an error");
}

describe("readiness and status", () => {
  let gw: HttpGateway;
  let configPath: string;

  beforeAll(async () => {
    const dir = tempDir();
    configPath = writeConfig(dir, {
      // Nothing listens there: `sentinel status --config` falls back to starting the backends.
      http: { port: 9 },
      identity: { anonymous: { roles: [] } },
      backends: {
        req: stdioFixture("req", { restart: { initialDelay: "1500ms" } }),
        // Dies at every start: a crash loop, and optional, so the gateway is ready without it.
        loop: {
          command: BUN,
          args: [FIXTURE, "--name", "loop"],
          env: { ECHO_CRASH_ON_START: "1" },
          optional: true,
          restart: { initialDelay: 10, maxDelay: 20 },
          crashLoop: { restarts: 3, window: "10s" },
        },
        // Unreachable: its error names where it lives, which /readyz must not.
        gone: { url: "http://127.0.0.1:9/mcp", optional: true },
      },
    });
    gw = await startHttpGateway(configPath);
  });
  afterAll(() => gw.stop());

  test("200 once every required backend is ready, with each backend's state", async () => {
    const { body } = await readyzWhen(gw, (r) => r.status === 200 && backendOf(r.body, "req").state === "ready");
    expect(body.ready).toBe(true);
    const req = backendOf(body, "req");
    expect(req).toMatchObject({ state: "ready", era: "legacy", transport: "stdio", lastError: null, inFlight: 0, circuit: { state: "closed" } });
    expect(typeof req.restarts).toBe("number");
  });

  test("a backend crashing in a loop ends down, saying why; optional, so still ready", async () => {
    const { status, body } = await readyzWhen(gw, (r) => /crashed 3 times/.test(backendOf(r.body, "loop").lastError ?? ""));
    expect(backendOf(body, "loop").state).toBe("down");
    expect(status).toBe(200);
    expect(backendOf(body, "loop").lastError).toMatch(/^crashed 3 times in \d+s; not restarted$/);
    // Nothing secret or internal in the body.
    expect(JSON.stringify(body)).not.toContain(ROOT);
    const gone = backendOf(body, "gone");
    expect(gone).toMatchObject({ state: expect.stringMatching(/^(down|starting)$/), transport: "http" });
    expect(gone.lastError).toBeString();
    expect(JSON.stringify(body)).not.toContain("127.0.0.1:9");
    expect(gw.stderr()).toMatch(/\[loop\].*crashed 3 times/);
  });

  test("sentinel status prints the table from the running gateway", async () => {
    const { code, stdout } = await runCli(["status", "--config", configPath, "--url", gw.url]);
    expect(code).toBe(0);
    expect(stdout).toContain("sentinel is ready");
    expect(stdout).toMatch(/BACKEND\s+STATE\s+ERA\s+TRANSPORT\s+IN FLIGHT\s+RESTARTS\s+CIRCUIT\s+LAST ERROR/);
    expect(stdout).toMatch(/^req\s+ready\s+legacy\s+stdio\s+0\s+\d+\s+closed/m);
    expect(stdout).toMatch(/^loop \(optional\)\s+down\s+.*crashed 3 times in \d+s; not restarted$/m);
    const json = await runCli(["status", "--config", configPath, "--url", gw.url, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ ready: true, source: "gateway" });
  });

  test("sentinel status starts the backends once when no gateway answers", async () => {
    const { code, stdout } = await runCli(["status", "--config", configPath]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^req\s+ready\s+legacy\s+stdio/m);
    // Started once: it is down, or starting again after its first exit.
    expect(stdout).toMatch(/^loop \(optional\)\s+(down|starting)\s.*exited with code 3/m);
    expect(stdout).toContain("backends started once");
  });

  test("503 while a required backend is down, 200 when it is back", async () => {
    const client = await connectHttp(gw.url);
    try {
      await expect(client.callTool({ name: "req__crash", arguments: {} })).rejects.toThrow(/-32000/);
      const down = await readyzWhen(gw, (r) => r.status === 503);
      expect(down.body.ready).toBe(false);
      expect(backendOf(down.body, "req").state).not.toBe("ready");
      const cli = await runCli(["status", "--config", configPath, "--url", gw.url]);
      expect(cli.code).toBe(1);
      expect(cli.stdout).toContain("sentinel is not ready");
      await eventually(async () => (await readyz(gw)).status === 200);
      expect(backendOf((await readyz(gw)).body, "req").restarts).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  });
});

describe("breaker, retries, liveness", () => {
  let gw: HttpGateway;
  let client: Client;
  let configPath: string;
  let stallFile: string;

  beforeAll(async () => {
    const dir = tempDir();
    stallFile = join(dir, "stall");
    configPath = writeConfig(dir, {
      identity: { anonymous: { roles: [] } },
      backends: {
        brk: flaky("brk", [], { timeout: 300, breaker: { failures: 2, coolDown: "1s" }, optional: true }),
        rtr: flaky("rtr", ["--hang-reads", "1"], { timeout: 300, optional: true }),
        live: flaky("live", ["--stall-file", stallFile], { liveness: { interval: 100, timeout: 100 }, optional: true }),
      },
    });
    gw = await startHttpGateway(configPath);
    client = await connectHttp(gw.url);
    await eventually(async () => (await readyz(gw)).body.backends.every((b) => b.state === "ready"));
  });
  afterAll(async () => {
    await client.close();
    await gw.stop();
  });

  test("opens after N timeouts, fails fast with retryAfterMs, half-opens and closes on success", async () => {
    for (let i = 0; i < 2; i++) expect((await rpcError(client.callTool({ name: "brk__hang", arguments: {} }))).code).toBe(-32001);
    const started = performance.now();
    const fast = await rpcError(client.callTool({ name: "brk__ok", arguments: {} }));
    expect(performance.now() - started).toBeLessThan(200);
    expect(fast.code).toBe(-32000);
    expect(fast.message).toMatch(/Backend brk unavailable, retry after 1s/);
    expect(fast.data?.retryAfterMs).toBeGreaterThan(0);
    expect(fast.data?.retryAfterMs).toBeLessThanOrEqual(1000);

    const open = backendOf((await readyz(gw)).body, "brk");
    expect(open.state).toBe("open-circuit");
    expect(open.circuit.state).toBe("open");
    expect(open.circuit.retryAfterMs).toBeGreaterThan(0);

    // After the cool-down, one probe goes through; its success closes the circuit.
    const text = await eventually(async () => textOf(await client.callTool({ name: "brk__ok", arguments: {} })), 5000, 100);
    expect(text).toBe("ok");
    const closed = backendOf((await readyz(gw)).body, "brk");
    expect(closed).toMatchObject({ state: "ready", circuit: { state: "closed" } });

    const refused = await rowsOf(configPath, (r) => r.target === "brk__ok" && r.error_code === -32000);
    expect(refused[0]!.error).toMatch(/^Backend brk unavailable, retry after 1s$/);
    // A call that is not an idempotent read is never retried.
    const hung = await auditRows(configPath, ["--tool", "brk__hang"]);
    expect(hung).toHaveLength(2);
    expect(hung.every((r) => !r.retries && r.error_code === -32001 && r.latency_us < 600_000)).toBe(true);
  });

  test("a resources/read that timed out is retried, and the audit row counts it", async () => {
    const read = await client.readResource({ uri: "flaky://rtr/data" });
    expect((read.contents[0] as { text: string }).text).toBe("data from rtr");
    const rows = await rowsOf(configPath, (r) => r.method === "resources/read" && r.backend === "rtr");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: "ok", retries: 1 });
  });

  test("a tool annotated readOnlyHint is retried too", async () => {
    expect(textOf(await client.callTool({ name: "rtr__lookup", arguments: {} }))).toBe("found");
    const rows = await rowsOf(configPath, (r) => r.target === "rtr__lookup");
    expect(rows.at(-1)).toMatchObject({ outcome: "ok", retries: 1 });
  });

  test("a backend that stops answering pings is degraded: callers are told at once; it recovers", async () => {
    writeFileSync(stallFile, "");
    try {
      let err = { code: 0, message: "" };
      await eventually(async () => {
        const started = performance.now();
        err = await rpcError(client.callTool({ name: "live__ok", arguments: {} }));
        return /not answering \(degraded\)/.test(err.message) && performance.now() - started < 500;
      });
      expect(err.code).toBe(-32000);
      expect(err.message).toMatch(/Backend live is not answering \(degraded\); retrying/);
      await eventually(async () => backendOf((await readyz(gw)).body, "live").state === "degraded");
    } finally {
      rmSync(stallFile, { force: true });
    }
    await eventually(async () => backendOf((await readyz(gw)).body, "live").state === "ready");
    expect(textOf(await eventually(() => client.callTool({ name: "live__ok", arguments: {} })))).toBe("ok");
  });
});
