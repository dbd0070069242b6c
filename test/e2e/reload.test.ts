// Hot reload through dist/sentinel: a changed config file (and SIGHUP) is read and validated in full;
// backends added appear on live sessions, removed ones go without disturbing calls on the others, rules
// apply from the next call, an invalid edit is reported and the running config stays.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { eventually, nextLog, runCli, startHttpGateway, stdioFixture, tappedFixture, tempDir, textOf, writeConfig, type HttpGateway } from "./harness.ts";

let dir: string;
let path: string;
let gw: HttpGateway;
let client: Client;
let listChanges = 0;

// alpha logs each request it gets, so that a test can wait until its call is there.
const base = { identity: { anonymous: { roles: [] } }, backends: { alpha: tappedFixture("alpha") } } as Record<string, any>;
/** Rewrites the config file as `config` (the audit path as writeConfig first set it). */
const rewrite = (config: Record<string, unknown>) => writeConfig(dir, config);

beforeAll(async () => {
  dir = tempDir();
  path = writeConfig(dir, base);
  gw = await startHttpGateway(path);
  client = new Client({ name: "reload-test", version: "1" });
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => void listChanges++);
  await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
});

afterAll(async () => {
  await client?.close();
  await gw?.stop();
});

const names = async () => (await client.listTools()).tools.map((t) => t.name);

describe("reload", () => {
  test("a backend added to the file appears on the live session, which is told its list changed", async () => {
    expect(await names()).not.toContain("beta__echo");
    const before = listChanges;
    rewrite({ ...base, backends: { ...base.backends, beta: stdioFixture("beta") } });
    await eventually(() => listChanges > before, 15_000);
    expect(await names()).toContain("beta__echo");
    expect(textOf(await client.callTool({ name: "beta__echo", arguments: { text: "new" } }))).toBe("new");
    // The session is the same one: nothing was restarted for it.
    expect(gw.stderr()).toMatch(/config reloaded from .*: backends added: beta/);
  });

  test("removing a backend does not disturb a call in flight on another", async () => {
    rewrite({ ...base, backends: { ...base.backends, beta: stdioFixture("beta"), gamma: stdioFixture("gamma") } });
    await eventually(async () => (await names()).includes("gamma__echo"), 15_000);
    const atBackend = nextLog(gw.stderr, /\[alpha\] received tools\/call sleep/);
    const inFlight = client.callTool({ name: "alpha__sleep", arguments: { ms: 1500 } });
    await atBackend;
    rewrite({ ...base, backends: { ...base.backends, beta: stdioFixture("beta") } });
    await eventually(() => /removed: gamma/.test(gw.stderr()), 15_000);
    expect(textOf(await inFlight)).toContain("slept");
    expect(await names()).not.toContain("gamma__echo");
  });

  test("an invalid edit is reported with its path and the running config stays", async () => {
    writeFileSync(path, JSON.stringify({ ...base, rateLimits: { perIdentity: "lots" }, audit: { path: `${dir}/audit.db` } }));
    await eventually(() => gw.stderr().includes("the changed config is not valid"), 15_000);
    expect(gw.stderr()).toContain("rateLimits.perIdentity");
    expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "still" } }))).toBe("still");
  });

  test("a rate-limit change applies to the next call", async () => {
    const limited = nextLog(gw.stderr, /config reloaded from .*sections: .*rateLimits/, 15_000);
    rewrite({ ...base, rateLimits: { perIdentity: "1/min" } });
    await limited;
    expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "one" } }))).toBe("one");
    await expect(client.callTool({ name: "alpha__echo", arguments: { text: "two" } })).rejects.toThrow(/Rate limit exceeded/);
    const restored = nextLog(gw.stderr, /config reloaded/, 15_000);
    rewrite(base);
    await restored;
    expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "three" } }))).toBe("three");
  });

  test("with watching off, SIGHUP reloads", async () => {
    const own = tempDir();
    const config = { ...base, server: { watchConfig: false } };
    const file = writeConfig(own, config);
    const g = await startHttpGateway(file);
    try {
      writeConfig(own, { ...config, backends: { ...base.backends, beta: stdioFixture("beta") } });
      const reloaded = nextLog(g.stderr, /config reloaded from .*: backends added: beta/, 15_000);
      g.proc.kill("SIGHUP");
      await reloaded;
    } finally {
      await g.stop();
    }
  });

  test("an RBAC change tells exactly the sessions whose lists it changes", async () => {
    const own = tempDir();
    const key = { dev: "reload-test-key-dev-0123456789", ops: "reload-test-key-ops-0123456789" };
    const hash = async (k: string) => (await runCli(["token", "hash", k])).stdout.trim().split(/\s+/).pop()!;
    const auth = { apiKeys: [{ name: "dev", hash: await hash(key.dev), roles: ["dev"] }, { name: "ops", hash: await hash(key.ops), roles: ["ops"] }] };
    const rbac = (devTools: string) => ({ roles: { dev: { allow: [{ tools: devTools }] }, ops: { allow: [{ tools: "alpha__*" }] } } });
    const config = { backends: base.backends, auth, rbac: rbac("alpha__echo") };
    const g = await startHttpGateway(writeConfig(own, config));
    const told = { dev: 0, ops: 0 };
    const connect = async (who: "dev" | "ops") => {
      const c = new Client({ name: who, version: "1" });
      c.setNotificationHandler(ToolListChangedNotificationSchema, () => void told[who]++);
      await c.connect(new StreamableHTTPClientTransport(new URL(g.url), { requestInit: { headers: { authorization: `Bearer ${key[who]}` } } }));
      // Listing sets what each role set has seen, and its GET stream is open by then.
      await c.listTools();
      return c;
    };
    const [dev, ops] = [await connect("dev"), await connect("ops")];
    try {
      expect((await dev.listTools()).tools.map((t) => t.name)).toEqual(["alpha__echo"]);
      const reloaded = nextLog(g.stderr, /config reloaded/, 15_000);
      writeConfig(own, { ...config, rbac: rbac("alpha__e*") });
      await reloaded;
      await eventually(() => told.dev === 1);
      expect((await dev.listTools()).tools.map((t) => t.name)).toEqual(["alpha__echo", "alpha__env"]);
      // ops sees what it saw before: it was not told (its notification would have gone out with dev's).
      await ops.listTools();
      expect(told.ops).toBe(0);
    } finally {
      await dev.close();
      await ops.close();
      await g.stop();
    }
  });

  test("each reload is a config_reloaded event in the audit events", async () => {
    const { stdout } = await runCli(["audit", "--config", path, "--events", "--json"]);
    const events = stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const reloaded = events.filter((e) => e.kind === "config_reloaded");
    expect(reloaded.length).toBeGreaterThanOrEqual(3);
    expect(reloaded.some((e) => String(e.detail).includes("backends added: beta"))).toBe(true);
  });
});
