// The gateway's main job, through the compiled binary on both fronts: four real
// backends at once (fixture over stdio, Streamable HTTP and legacy SSE, and the
// npm server-everything over stdio), aggregated, routed and audited.

import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  auditRows,
  BIN,
  connectHttp,
  connectStdio,
  EVERYTHING,
  NODE,
  startFixture,
  startHttpGateway,
  stdioFixture,
  tempDir,
  textOf,
  writeConfig,
  type Spawned,
} from "./harness.ts";

let beta: Spawned;
let gamma: Spawned;
let configPath: string;

beforeAll(async () => {
  [beta, gamma] = await Promise.all([startFixture("beta", "http"), startFixture("gamma", "sse")]);
  configPath = writeConfig(tempDir(), {
    identity: { local: { sub: "tester" }, anonymous: { roles: [] } },
    backends: {
      alpha: stdioFixture("alpha"),
      beta: { url: beta.url },
      gamma: { type: "sse", url: gamma.url },
    },
    // The Claude Code .mcp.json shape is accepted beside `backends`.
    mcpServers: { everything: { command: NODE, args: [EVERYTHING, "stdio"] } },
  });
});

afterAll(async () => {
  await Promise.all([beta?.stop(), gamma?.stop()]);
});

type Front = { name: "stdio" | "http"; connect(): Promise<{ client: Client; close(): Promise<void> }> };

const fronts: Front[] = [
  { name: "stdio", connect: () => connectStdio(configPath) },
  {
    name: "http",
    async connect() {
      const gw = await startHttpGateway(configPath);
      const client = await connectHttp(gw.url);
      return { client, close: async () => (await client.close(), await gw.stop()) };
    },
  },
];

for (const front of fronts) {
  describe(`${front.name} front`, () => {
    let client: Client;
    let close: () => Promise<void>;
    beforeAll(async () => ({ client, close } = await front.connect()));
    afterAll(() => close());

    test("initialize answers with Sentinel's identity and capabilities", () => {
      expect(client.getServerVersion()?.name).toBe("sentinel");
      const caps = client.getServerCapabilities();
      expect(caps?.tools).toBeDefined();
      expect(caps?.prompts).toBeDefined();
      expect(caps?.resources).toBeDefined();
    });

    test("tools of every backend are listed under namespaced names", async () => {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      for (const b of ["alpha", "beta", "gamma"]) {
        expect(names).toContain(`${b}__echo`);
        expect(names).toContain(`${b}__whoami`);
      }
      expect(names).toContain("everything__echo");
      expect(names.filter((n) => !/^(alpha|beta|gamma|everything)__/.test(n))).toEqual([]);
      for (const n of names) expect(n).toMatch(/^[a-zA-Z0-9_-]{1,48}$/);
      // Definitions pass through untouched but for the name.
      const add = tools.find((t) => t.name === "alpha__add")!;
      expect(add.description).toBe("Adds two numbers");
      expect(add.inputSchema.required).toEqual(["a", "b"]);
      expect(add.outputSchema).toBeDefined();
    });

    test("calls are routed to the backend that owns the tool", async () => {
      for (const b of ["alpha", "beta", "gamma"]) {
        expect(textOf(await client.callTool({ name: `${b}__whoami`, arguments: {} }))).toBe(b);
      }
      const sum = await client.callTool({ name: "beta__add", arguments: { a: 2, b: 40 } });
      expect(sum.structuredContent).toEqual({ sum: 42 });
      const echoed = await client.callTool({ name: "everything__echo", arguments: { message: "hi from e2e" } });
      expect(textOf(echoed)).toContain("hi from e2e");
      const failed = await client.callTool({ name: "alpha__fail", arguments: {} });
      expect(failed.isError).toBe(true);
    });

    test("concurrent calls on one shared backend connection all complete", async () => {
      const calls = Array.from({ length: 20 }, (_, i) => client.callTool({ name: "gamma__echo", arguments: { text: `n${i}` } }));
      const texts = (await Promise.all(calls)).map(textOf);
      expect(texts).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
    });

    test("prompts and resources are aggregated and routed", async () => {
      const { prompts } = await client.listPrompts();
      expect(prompts.map((p) => p.name)).toEqual(expect.arrayContaining(["alpha__greet", "beta__greet", "gamma__greet"]));
      const prompt = await client.getPrompt({ name: "beta__greet", arguments: { name: "Ada" } });
      expect(prompt.messages[0]?.content).toEqual({ type: "text", text: "Hello, Ada!" });

      const { resources } = await client.listResources();
      const uris = resources.map((r) => r.uri);
      expect(uris).toEqual(expect.arrayContaining(["fixture://alpha/info", "fixture://beta/info", "fixture://gamma/info"]));
      const read = await client.readResource({ uri: "fixture://gamma/info" });
      expect(read.contents[0]).toMatchObject({ text: "info from gamma" });

      const { resourceTemplates } = await client.listResourceTemplates();
      expect(resourceTemplates.map((t) => t.uriTemplate)).toContain("fixture://alpha/items/{id}");
      const item = await client.readResource({ uri: "fixture://alpha/items/7" });
      expect(item.contents[0]).toMatchObject({ text: "item 7 from alpha" });
    });

    test("unknown tools, prompts and resources get -32602 naming them", async () => {
      await expect(client.callTool({ name: "alpha__nope", arguments: {} })).rejects.toThrow(/-32602.*Unknown tool: alpha__nope/);
      await expect(client.callTool({ name: "echo", arguments: {} })).rejects.toThrow(/Unknown tool: echo/);
      await expect(client.getPrompt({ name: "nobody__greet" })).rejects.toThrow(/-32602.*Unknown prompt/);
      await expect(client.readResource({ uri: "fixture://nowhere/x" })).rejects.toThrow(/-32602.*Unknown resource/);
      // The session still works after the errors.
      expect(textOf(await client.callTool({ name: "alpha__echo", arguments: { text: "still here" } }))).toBe("still here");
    });

    test("completion/complete reaches the prompt's backend under its original name", async () => {
      const res = await client.complete({
        ref: { type: "ref/prompt", name: "everything__completable-prompt" },
        argument: { name: "department", value: "S" },
      });
      expect(res.completion.values.sort()).toEqual(["Sales", "Support"]);
    });

    test("ping is answered by Sentinel", async () => {
      expect(await client.ping()).toEqual({});
    });
  });
}

describe("audit trail", () => {
  test("every call above has a row with identity, route, outcome and latency", async () => {
    const rows = await auditRows(configPath);
    for (const front of ["stdio", "http"]) {
      const mine = rows.filter((r) => r.front === front);
      const whoami = mine.filter((r) => r.method === "tools/call" && r.target?.endsWith("__whoami"));
      expect(whoami.map((r) => r.backend).sort()).toEqual(["alpha", "beta", "gamma"]);
      for (const r of whoami) {
        expect(r.outcome).toBe("ok");
        expect(r.latency_us).toBeGreaterThan(0);
      }
      const unknown = mine.find((r) => r.target === "alpha__nope")!;
      expect(unknown).toMatchObject({ outcome: "error", error_code: -32602, backend: null });
      const add = mine.find((r) => r.target === "beta__add")!;
      expect(JSON.parse(add.args!)).toEqual({ a: 2, b: 40 });
      expect(mine.some((r) => r.method === "initialize")).toBe(true);
      expect(mine.some((r) => r.method === "prompts/get" && r.backend === "beta")).toBe(true);
      expect(mine.some((r) => r.method === "resources/read" && r.target === "fixture://gamma/info" && r.backend === "gamma")).toBe(true);
    }
    expect(rows.find((r) => r.front === "stdio")!.identity).toBe("tester");
    expect(rows.find((r) => r.front === "http")!.identity).toBe("anonymous");
  });

  test("--follow prints rows as they are written", async () => {
    const follow = Bun.spawn([BIN, "audit", "--config", configPath, "--json", "--follow", "--limit", "1"], { stdout: "pipe", stderr: "ignore" });
    const reader = follow.stdout.getReader();
    let seen = "";
    const until = async (needle: string) => {
      while (!seen.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error("audit --follow ended");
        seen += new TextDecoder().decode(value);
      }
    };
    try {
      await until("\n"); // the newest existing row
      const gw = await connectStdio(configPath);
      await gw.client.callTool({ name: "alpha__echo", arguments: { text: "followed" } });
      await gw.close();
      await until('"target":"alpha__echo"');
      expect(seen).toContain('"args":"{\\"text\\":\\"followed\\"}"');
    } finally {
      follow.kill();
    }
  });

  test("filters select rows", async () => {
    const errors = await auditRows(configPath, ["--outcome", "error", "--backend", "alpha"]);
    expect(errors.length).toBeGreaterThan(0);
    for (const r of errors) expect(r).toMatchObject({ outcome: "error", backend: "alpha" });
    const globbed = await auditRows(configPath, ["--tool", "beta__*"]);
    expect(globbed.length).toBeGreaterThan(0);
    for (const r of globbed) expect(r.target).toStartWith("beta__");
  });
});
