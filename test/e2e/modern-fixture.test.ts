// test/fixtures/modern-server.ts works: a v2 client pinned to 2026-07-28 lists, calls and completes an MRTR
// round-trip over stdio and HTTP; in --era dual the same fixture also answers an SDK v1 (2025-era) client.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as LegacyStdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport as LegacyHttpClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const FIXTURE = join(import.meta.dir, "../fixtures/modern-server.ts");
const BUN = process.execPath;
const children: Bun.Subprocess[] = [];

afterAll(async () => {
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(children.map((c) => c.exited));
});

async function startHttp(era: "modern" | "dual"): Promise<URL> {
  const child = Bun.spawn([BUN, FIXTURE, "--transport", "http", "--era", era, "--port", "0"], { stdout: "pipe", stderr: "ignore" });
  children.push(child);
  const reader = child.stdout.getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`modern fixture exited before listening: ${buf}`);
    buf += new TextDecoder().decode(value);
    const m = buf.match(/^LISTENING (\S+)$/m);
    if (m) return new URL(m[1]!);
  }
}

function modernClient(): Client {
  const client = new Client(
    { name: "modern-fixture-test", version: "1.0.0" },
    { versionNegotiation: { mode: { pin: "2026-07-28" } }, capabilities: { elicitation: { form: {} } } },
  );
  // Answers the fixture's input_required elicitation; the client retries the call with this response.
  client.setRequestHandler("elicitation/create", () => ({ action: "accept", content: { name: "Ada" } }));
  return client;
}

async function exercise(client: Client) {
  expect(client.getProtocolEra()).toBe("modern");
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toContain("test_input_required_result_elicitation");
  expect(await client.callTool({ name: "test_simple_text", arguments: {} })).toMatchObject({
    content: [{ type: "text", text: "This is a simple text response for testing." }],
  });
  expect(await client.callTool({ name: "test_input_required_result_elicitation", arguments: {} })).toMatchObject({
    content: [{ type: "text", text: "Hello, Ada!" }],
  });
}

describe("modern fixture, v2 client pinned to 2026-07-28", () => {
  test("stdio", async () => {
    const client = modernClient();
    await client.connect(new StdioClientTransport({ command: BUN, args: [FIXTURE], stderr: "ignore" }));
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  });

  test("http", async () => {
    const client = modernClient();
    await client.connect(new StreamableHTTPClientTransport(await startHttp("modern")));
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  });
});

describe("modern fixture --era dual, SDK v1 (2025-11-25) client", () => {
  async function exerciseLegacy(client: LegacyClient) {
    expect(client.getServerVersion()?.name).toBe("sentinel-modern-server");
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("test_simple_text");
    expect(await client.callTool({ name: "test_simple_text", arguments: {} })).toMatchObject({
      content: [{ type: "text", text: "This is a simple text response for testing." }],
    });
  }

  test("stdio", async () => {
    const client = new LegacyClient({ name: "legacy-fixture-test", version: "1.0.0" });
    await client.connect(new LegacyStdioClientTransport({ command: BUN, args: [FIXTURE, "--era", "dual"], stderr: "ignore" }));
    try {
      await exerciseLegacy(client);
    } finally {
      await client.close();
    }
  });

  test("http", async () => {
    const client = new LegacyClient({ name: "legacy-fixture-test", version: "1.0.0" });
    await client.connect(new LegacyHttpClientTransport(await startHttp("dual")));
    try {
      await exerciseLegacy(client);
    } finally {
      await client.close();
    }
  });
});
