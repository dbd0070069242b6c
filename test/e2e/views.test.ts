// Views (virtual servers) through dist/sentinel: /mcp/<view> on HTTP and --view on stdio list only
// what the view lets through, refuse a call outside it as unknown, never grant what RBAC denies,
// hold for 2026-07-28 requests too, are recorded in the audit row, and are told only of their own
// list changes; `sentinel tools --view` prints what the view's tool list costs against the full one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import {
  auditRows,
  BIN,
  connectHttp,
  connectStdio,
  eventually,
  runCli,
  startHttpGateway,
  stdioFixture,
  tempDir,
  textOf,
  writeConfig,
  type HttpGateway,
} from "./harness.ts";

let configPath: string;
let gw: HttpGateway;

beforeAll(async () => {
  const dir = tempDir();
  configPath = writeConfig(dir, {
    identity: { anonymous: { roles: ["dev"] }, local: { sub: "local", roles: ["dev"] } },
    // RBAC denies alpha__whoami, which the research view names: the view cannot grant it.
    rbac: { roles: { dev: { allow: [{ backends: "*" }], deny: [{ tools: "alpha__whoami" }] } } },
    views: {
      research: {
        description: "Research: alpha's echo only",
        instructions: "Use alpha__echo to repeat things.",
        backends: ["alpha"],
        tools: ["alpha__echo", "alpha__whoami"],
      },
      betas: { backends: ["beta"] },
    },
    backends: { alpha: stdioFixture("alpha"), beta: stdioFixture("beta") },
  });
  gw = await startHttpGateway(configPath);
});

afterAll(async () => {
  await gw?.stop();
});

const names = (tools: { name: string }[]) => tools.map((t) => t.name).sort();

describe("HTTP /mcp/<view>", () => {
  test("lists only the view's tools, RBAC applied too; outside the view reads as unknown", async () => {
    const client = await connectHttp(`${gw.url}/research`);
    try {
      expect(names((await client.listTools()).tools)).toEqual(["alpha__echo"]);
      expect(client.getInstructions()).toContain("Use alpha__echo to repeat things.");
      expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "in view" } }))).toBe("in view");
      await expect(client.callTool({ name: "beta__echo", arguments: { text: "x" } })).rejects.toThrow(/-32602.*Unknown tool: beta__echo/);
      // In the view, denied by RBAC: still unknown.
      await expect(client.callTool({ name: "alpha__whoami", arguments: {} })).rejects.toThrow(/Unknown tool: alpha__whoami/);
      expect((await client.listResources()).resources.every((r) => r.uri.includes("alpha"))).toBe(true);
      expect((await client.readResource({ uri: "fixture://alpha/info" })).contents[0]?.uri).toBe("fixture://alpha/info");
      await expect(client.readResource({ uri: "fixture://beta/info" })).rejects.toThrow(/Unknown resource: fixture:\/\/beta\/info/);
      await expect(client.subscribeResource({ uri: "fixture://beta/info" })).rejects.toThrow(/Unknown resource/);
    } finally {
      await client.close();
    }
  });

  test("/mcp stays the full view (RBAC only)", async () => {
    const client = await connectHttp(gw.url);
    try {
      const listed = names((await client.listTools()).tools);
      expect(listed).toContain("beta__echo");
      expect(listed).toContain("alpha__echo");
      expect(listed).not.toContain("alpha__whoami");
    } finally {
      await client.close();
    }
  });

  test("another view sees its own backend only", async () => {
    const client = await connectHttp(`${gw.url}/betas`);
    try {
      const listed = names((await client.listTools()).tools);
      expect(listed.length).toBeGreaterThan(0);
      expect(listed.every((n) => n.startsWith("beta__"))).toBe(true);
    } finally {
      await client.close();
    }
  });

  test("an unknown view is 404, and a session is not usable from another view's path", async () => {
    const init = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const unknown = await fetch(`${gw.url}/nope`, { method: "POST", headers, body: JSON.stringify(init) });
    expect(unknown.status).toBe(404);
    const opened = await fetch(`${gw.url}/research`, { method: "POST", headers, body: JSON.stringify(init) });
    expect(opened.status).toBe(200);
    const sid = opened.headers.get("mcp-session-id")!;
    await opened.text();
    const list = { jsonrpc: "2.0", id: 2, method: "tools/list" };
    const elsewhere = await fetch(gw.url, { method: "POST", headers: { ...headers, "mcp-session-id": sid }, body: JSON.stringify(list) });
    expect(elsewhere.status).toBe(404);
    await fetch(`${gw.url}/research`, { method: "DELETE", headers: { "mcp-session-id": sid } });
  });

  test("a 2026-07-28 request on /mcp/<view> is filtered the same way", async () => {
    const V = "2026-07-28";
    const post = async (method: string, params: Record<string, unknown>) => {
      const res = await fetch(`${gw.url}/research`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          "mcp-protocol-version": V,
          "mcp-method": method,
          ...(typeof params.name === "string" && { "mcp-name": params.name }),
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method,
          params: { ...params, _meta: { "io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": {} } },
        }),
      });
      return (await res.json()) as Record<string, any>;
    };
    const listed = await post("tools/list", {});
    expect(names(listed.result.tools)).toEqual(["alpha__echo"]);
    const outside = await post("tools/call", { name: "beta__echo", arguments: { text: "x" } });
    expect(outside.error).toMatchObject({ code: -32602, message: "Unknown tool: beta__echo" });
    const discovered = await post("server/discover", {});
    expect(discovered.result.instructions).toContain("Use alpha__echo to repeat things.");
  });

  test("a 2026-07-28 listen on /mcp/<view> is granted only the view's resources, and audited with the view", async () => {
    const V = "2026-07-28";
    const res = await fetch(`${gw.url}/research`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": V, "mcp-method": "subscriptions/listen" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: "L",
        method: "subscriptions/listen",
        params: {
          notifications: { toolsListChanged: true, resourceSubscriptions: ["fixture://alpha/info", "fixture://beta/info"] },
          _meta: { "io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": {} },
        },
      }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("acknowledged")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      text += decoder.decode(value);
    }
    await reader.cancel();
    const ack = JSON.parse(text.split("\n").find((l) => l.includes("acknowledged"))!.slice(6));
    expect(ack.params.notifications).toEqual({ toolsListChanged: true, resourceSubscriptions: ["fixture://alpha/info"] });
    // Rows reach SQLite in batches.
    await eventually(async () => (await auditRows(configPath, ["--method", "subscriptions/listen"])).some((r) => r.view === "research"));
  });

  test("the audit row records the view", async () => {
    const rows = await eventually(async () => {
      const all = await auditRows(configPath, ["--method", "tools/call"]);
      return all.some((r) => r.target === "beta__echo" && r.view === "research") ? all : null;
    });
    expect(rows!.filter((r) => r.target === "alpha__echo" && r.view === "research").length).toBeGreaterThan(0);
    expect(rows!.find((r) => r.target === "beta__echo" && r.view === "research")).toMatchObject({ decision: "denied", rule: "view research" });
  });
});

describe("stdio --view", () => {
  test("lists and refuses as the view says", async () => {
    const gwStdio = await connectStdio({ args: ["--view", "research", "--config", configPath] });
    try {
      const { client } = gwStdio;
      expect(names((await client.listTools()).tools)).toEqual(["alpha__echo"]);
      expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "stdio view" } }))).toBe("stdio view");
      await expect(client.callTool({ name: "beta__whoami", arguments: {} })).rejects.toThrow(/Unknown tool: beta__whoami/);
    } finally {
      await gwStdio.close();
    }
    await eventually(async () =>
      (await auditRows(configPath, ["--method", "tools/call"])).some((r) => r.front === "stdio" && r.target === "alpha__echo" && r.view === "research"),
    );
  });

  test("an unknown view exits 2 with a clear message", async () => {
    const proc = Bun.spawn([BIN, "--view", "nope", "--config", configPath], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(2);
    expect(stderr).toContain("--view nope: no such view");
    expect(stderr).toContain("research");
  });
});

describe("sentinel tools --view", () => {
  test("shows the view's tools and what its list costs against the full one", async () => {
    const { code, stdout } = await runCli(["tools", "--config", configPath, "--view", "research"]);
    expect(code).toBe(0);
    expect(stdout).toContain("alpha__echo");
    expect(stdout).not.toContain("beta__echo");
    const view = /view research: 2 tools, tools\/list (\d+) chars, ~(\d+) tokens/.exec(stdout);
    const full = /full: (\d+) tools, tools\/list (\d+) chars, ~(\d+) tokens/.exec(stdout);
    expect(view).not.toBeNull();
    expect(full).not.toBeNull();
    expect(Number(view![2])).toBe(Math.ceil(Number(view![1]) / 4));
    expect(Number(full![2])).toBeGreaterThan(Number(view![1]));
    const json = JSON.parse((await runCli(["tools", "--config", configPath, "--view", "research", "--json"])).stdout);
    expect(json.size.view).toMatchObject({ name: "research", tools: 2 });
    expect(json.size.full.chars).toBeGreaterThan(json.size.view.chars);
  });
});

describe("list changes", () => {
  test("a view's session is told of changes in its view only", async () => {
    const counted = async (url: string) => {
      const client = await connectHttp(url);
      const seen = { n: 0 };
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => void seen.n++);
      await client.listTools();
      return { client, seen };
    };
    const research = await counted(`${gw.url}/research`);
    const betas = await counted(`${gw.url}/betas`);
    const full = await counted(gw.url);
    try {
      // alpha announces a change: research sees alpha's tools, so it is told (and its event stream is open).
      await full.client.callTool({ name: "alpha__grow", arguments: { tool: "warm" } });
      await eventually(() => research.seen.n === 1);
      // beta's change reaches the betas view and the full one, not research; research's next one proves it in order.
      await betas.client.callTool({ name: "beta__grow", arguments: { tool: "fresh" } });
      await eventually(() => betas.seen.n >= 1 && full.seen.n >= 2);
      expect(names((await betas.client.listTools()).tools)).toContain("beta__fresh");
      await full.client.callTool({ name: "alpha__grow", arguments: { tool: "later" } });
      await eventually(() => research.seen.n >= 2);
      expect(research.seen.n).toBe(2);
      expect(names((await research.client.listTools()).tools)).toEqual(["alpha__echo"]);
    } finally {
      await Promise.all([research.client.close(), betas.client.close(), full.client.close()]);
    }
  });
});
