// Backends that crash, hang, fail to start or misbehave must not take the
// gateway down: callers get a prompt, clear error and the backend comes back.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  auditRows,
  connectHttp,
  connectStdio,
  eventually,
  nextLog,
  startHttpGateway,
  stdioFixture,
  tappedFixture,
  tempDir,
  textOf,
  writeConfig,
  type Gateway,
} from "./harness.ts";

describe("a backend that crashes mid-call", () => {
  let gw: Gateway;
  let configPath: string;
  const changes: string[] = [];

  beforeAll(async () => {
    configPath = writeConfig(tempDir(), {
      backends: {
        flaky: stdioFixture("flaky", { restart: { initialDelay: "1s", maxDelay: "5s" } }),
        steady: stdioFixture("steady"),
      },
    });
    gw = await connectStdio(configPath);
    const { ToolListChangedNotificationSchema } = await import("@modelcontextprotocol/sdk/types.js");
    gw.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes.push("tools"));
  });
  afterAll(() => gw.close());

  test("the caller gets an error promptly, others keep working, the backend comes back", async () => {
    const started = performance.now();
    await expect(gw.client.callTool({ name: "flaky__crash", arguments: {} })).rejects.toThrow(/-32000.*flaky.*exited with code 1/);
    expect(performance.now() - started).toBeLessThan(2000);

    // While it restarts: its tools are withdrawn, calls to it say why, others work.
    await expect(gw.client.callTool({ name: "flaky__whoami", arguments: {} })).rejects.toThrow(/-32000.*flaky.*unavailable/);
    expect(textOf(await gw.client.callTool({ name: "steady__whoami", arguments: {} }))).toBe("steady");
    const { tools } = await gw.client.listTools();
    expect(tools.some((t) => t.name.startsWith("flaky__"))).toBe(false);
    await eventually(() => changes.length > 0);

    // Back after the backoff, announced to the client.
    const back = await eventually(async () => textOf(await gw.client.callTool({ name: "flaky__whoami", arguments: {} })));
    expect(back).toBe("flaky");
    expect((await gw.client.listTools()).tools.some((t) => t.name === "flaky__whoami")).toBe(true);
    expect(changes.length).toBeGreaterThanOrEqual(2);
  });

  test("the crash is in the log and the audit trail", async () => {
    expect(gw.stderr()).toContain("[flaky] crashing");
    const rows = await auditRows(configPath, ["--tool", "flaky__crash"]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: "error", error_code: -32000, backend: "flaky" });
  });
});

describe("a backend that hangs", () => {
  test("a call past the backend's timeout fails with -32001 and the gateway keeps serving", async () => {
    const configPath = writeConfig(tempDir(), { backends: { slow: stdioFixture("slow", { timeout: "300ms" }) } });
    const gw = await connectStdio(configPath);
    try {
      const started = performance.now();
      await expect(gw.client.callTool({ name: "slow__sleep", arguments: { ms: 5000 } })).rejects.toThrow(/-32001.*300 ms/);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(textOf(await gw.client.callTool({ name: "slow__sleep", arguments: { ms: 10 } }))).toBe("slept 10");
    } finally {
      await gw.close();
    }
  });
});

describe("a backend that cannot start", () => {
  test("the gateway serves the others and names the broken one in errors", async () => {
    const configPath = writeConfig(tempDir(), {
      server: { startupTimeout: "5s" },
      backends: {
        broken: stdioFixture("broken", { env: { ECHO_CRASH_ON_START: "1" }, restart: { initialDelay: "200ms" } }),
        missing: { command: "/nonexistent/mcp-server" },
        fine: stdioFixture("fine"),
      },
    });
    const gw = await connectStdio(configPath);
    try {
      const { tools } = await gw.client.listTools();
      expect(tools.map((t) => t.name)).toContain("fine__echo");
      expect(tools.some((t) => !t.name.startsWith("fine__"))).toBe(false);
      await expect(gw.client.callTool({ name: "broken__echo", arguments: { text: "x" } })).rejects.toThrow(/-32000.*Backend broken/);
      await expect(gw.client.callTool({ name: "missing__echo", arguments: { text: "x" } })).rejects.toThrow(/command not found/);
      expect(textOf(await gw.client.callTool({ name: "fine__echo", arguments: { text: "ok" } }))).toBe("ok");
    } finally {
      await gw.close();
    }
  });
});

describe("stdio backend environment and logs", () => {
  test("children get only a safe allowlist of the parent env plus what the config sets", async () => {
    const configPath = writeConfig(tempDir(), {
      backends: { envy: stdioFixture("envy", { env: { CONFIGURED_VAR: "from-config" }, inheritEnv: ["PASSED_ON"] }) },
    });
    const gw = await connectStdio(configPath, { PARENT_SECRET: "do-not-leak", PASSED_ON: "passed" });
    try {
      const read = async (name: string) => textOf(await gw.client.callTool({ name: "envy__env", arguments: { name } }));
      expect(await read("PARENT_SECRET")).toBe("<unset>");
      expect(await read("CONFIGURED_VAR")).toBe("from-config");
      expect(await read("PASSED_ON")).toBe("passed");
      expect(await read("PATH")).not.toBe("<unset>");
      // The child's stderr is in Sentinel's log, prefixed with the backend name.
      expect(gw.stderr()).toContain("[envy] echo-server envy ready");
    } finally {
      await gw.close();
    }
  });
});

describe("shutdown", () => {
  test("SIGTERM drains an in-flight call, stops the backend's process group, keeps the audit row, exits 0", async () => {
    const configPath = writeConfig(tempDir(), { identity: { anonymous: { roles: [] } }, backends: { drain: tappedFixture("drainer") } });
    const gw = await startHttpGateway(configPath);
    const client = await connectHttp(gw.url);
    const pids = () => Bun.spawnSync(["pgrep", "-f", "echo-server.ts --name drainer"]).stdout.toString().trim();
    expect(pids()).not.toBe("");
    const atBackend = nextLog(gw.stderr, /\[drain\] received tools\/call sleep/);
    const call = client.callTool({ name: "drain__sleep", arguments: { ms: 800 } });
    await atBackend;
    gw.proc.kill("SIGTERM");
    expect(textOf(await call)).toBe("slept 800");
    expect(await gw.proc.exited).toBe(0);
    expect(pids()).toBe("");
    const rows = await auditRows(configPath, ["--tool", "drain__sleep"]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.outcome).toBe("ok");
  });
});
