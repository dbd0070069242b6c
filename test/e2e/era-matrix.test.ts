// Every front/back combination of the two eras, through dist/sentinel: a 2025 client (SDK v1) and a
// 2026-07-28 client (SDK v2, pinned) on the stdio and the HTTP front, each in front of four backends:
// the 2025 echo fixture over stdio and over HTTP, the 2026-07-28 fixture over stdio and over HTTP.
// Each combination lists, calls, gets a prompt, reads a resource, completes (where the backend can), gets progress and answers an
// elicitation: pushed to the 2025 client, asked back as input_required from the 2026 one, whichever
// way the backend asked for it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport as ModernHttp } from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdio } from "@modelcontextprotocol/client/stdio";
import { Client as LegacyClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as LegacyStdio } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport as LegacyHttp } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { BIN, BUN, ROOT, startFixture, startHttpGateway, stdioFixture, tempDir, textOf, writeConfig, type HttpGateway, type Spawned } from "./harness.ts";

const MODERN_FIXTURE = join(ROOT, "test/fixtures/modern-server.ts");

/** What each kind of backend offers under its own names, and what it answers. */
const KINDS = {
  legacy: {
    call: { name: "echo", arguments: { text: "matrix" }, text: "matrix" },
    prompt: { name: "greet", arguments: { name: "Ada" }, text: "Ada" },
    resource: (b: string) => `fixture://${b}/info`,
    progress: { name: "progress", arguments: { steps: 3 } },
    elicit: { name: "ask_user", arguments: { question: "who?" }, text: "user accept: Ada" },
  },
  modern: {
    call: { name: "test_simple_text", arguments: {}, text: "This is a simple text response for testing." },
    prompt: { name: "test_simple_prompt", arguments: {}, text: "This is a simple prompt for testing." },
    // Both modern backends serve the same URIs: the first in config order owns them.
    resource: (b: string) => (b === "ms" ? "test://static-text" : null),
    progress: { name: "test_tool_with_progress", arguments: {} },
    elicit: { name: "test_input_required_result_elicitation", arguments: {}, text: "Hello, Ada!" },
    complete: { prompt: "test_prompt_with_arguments", argument: "arg1", value: "par", values: ["paris", "park", "party"] },
  },
} as const;
const BACKENDS = { ls: KINDS.legacy, lh: KINDS.legacy, ms: KINDS.modern, mh: KINDS.modern } as const;

let config: string;
let gw: HttpGateway;
const spawned: Spawned[] = [];

async function modernHttpFixture(): Promise<Spawned> {
  const proc = Bun.spawn([BUN, MODERN_FIXTURE, "--transport", "http", "--port", "0"], { stdout: "pipe", stderr: "ignore" });
  const reader = proc.stdout.getReader();
  let out = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("modern fixture exited before listening");
    out += new TextDecoder().decode(value);
    const m = /^LISTENING (\S+)$/m.exec(out);
    if (m) return { url: m[1]!, proc, stop: async () => void proc.kill() };
  }
}

beforeAll(async () => {
  const [lh, mh] = await Promise.all([startFixture("lh", "http"), modernHttpFixture()]);
  spawned.push(lh, mh);
  config = writeConfig(tempDir(), {
    backends: {
      ls: stdioFixture("ls"),
      lh: { url: lh.url },
      ms: { command: BUN, args: [MODERN_FIXTURE] },
      mh: { url: mh.url },
    },
    identity: { local: { sub: "local" }, anonymous: { roles: [] } },
  });
  gw = await startHttpGateway(config);
});

afterAll(async () => {
  await gw?.stop();
  await Promise.all(spawned.map((s) => s.stop()));
});

type AnyClient = {
  listTools(): Promise<{ tools: { name: string }[] }>;
  callTool(p: { name: string; arguments: Record<string, unknown> }, options?: { onprogress?: (p: unknown) => void }): Promise<unknown>;
  getPrompt(p: { name: string; arguments: Record<string, string> }): Promise<{ messages: unknown[] }>;
  readResource(p: { uri: string }): Promise<{ contents: { text?: string }[] }>;
  complete(p: { ref: { type: "ref/prompt"; name: string }; argument: { name: string; value: string } }): Promise<{ completion: { values: string[] } }>;
  close(): Promise<void>;
};

async function connect(era: "legacy" | "modern", front: "stdio" | "http"): Promise<AnyClient> {
  const answer = { action: "accept" as const, content: { name: "Ada", answer: "Ada" } };
  if (era === "legacy") {
    const client = new LegacyClient({ name: "matrix-2025", version: "1" }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => answer);
    await client.connect(front === "stdio" ? new LegacyStdio({ command: BIN, args: ["--config", config], stderr: "ignore" }) : new LegacyHttp(new URL(gw.url)));
    // v1 takes a result schema before the options.
    const call = client.callTool.bind(client);
    return Object.assign(client, { callTool: (p: never, options?: never) => call(p, undefined, options) }) as unknown as AnyClient;
  }
  const client = new ModernClient(
    { name: "matrix-2026", version: "1" },
    { versionNegotiation: { mode: { pin: "2026-07-28" } }, capabilities: { elicitation: { form: {} } } },
  );
  client.setRequestHandler("elicitation/create", () => answer);
  await client.connect(front === "stdio" ? new ModernStdio({ command: BIN, args: ["--config", config], stderr: "ignore" }) : new ModernHttp(new URL(gw.url)));
  expect(client.getProtocolEra()).toBe("modern");
  return client as unknown as AnyClient;
}

function promptText(result: { messages: unknown[] }): string {
  return JSON.stringify(result.messages);
}

for (const era of ["legacy", "modern"] as const) {
  for (const front of ["stdio", "http"] as const) {
    describe(`a ${era === "legacy" ? "2025" : "2026-07-28"} client on the ${front} front`, () => {
      let client: AnyClient;
      beforeAll(async () => {
        client = await connect(era, front);
      });
      afterAll(() => client?.close());

      test("lists every backend's tools", async () => {
        const names = (await client.listTools()).tools.map((t) => t.name);
        for (const [b, kind] of Object.entries(BACKENDS)) expect(names).toContain(`${b}__${kind.call.name}`);
      });

      for (const [b, kind] of Object.entries(BACKENDS)) {
        const backend = `${b.startsWith("l") ? "2025" : "2026-07-28"} ${b.endsWith("s") ? "stdio" : "HTTP"} backend (${b})`;
        test(`${backend}: call, prompt, resource, progress, elicitation`, async () => {
          expect(textOf(await client.callTool({ name: `${b}__${kind.call.name}`, arguments: kind.call.arguments }))).toBe(kind.call.text);
          expect(promptText(await client.getPrompt({ name: `${b}__${kind.prompt.name}`, arguments: kind.prompt.arguments }))).toContain(kind.prompt.text);
          const uri = kind.resource(b);
          if (uri) expect((await client.readResource({ uri })).contents[0]?.text).toBeTruthy();
          const progress: unknown[] = [];
          await client.callTool({ name: `${b}__${kind.progress.name}`, arguments: kind.progress.arguments }, { onprogress: (p: unknown) => progress.push(p) });
          expect(progress.length).toBeGreaterThanOrEqual(2);
          expect(textOf(await client.callTool({ name: `${b}__${kind.elicit.name}`, arguments: kind.elicit.arguments }))).toBe(kind.elicit.text);
          if ("complete" in kind) {
            const c = kind.complete;
            const done = await client.complete({ ref: { type: "ref/prompt", name: `${b}__${c.prompt}` }, argument: { name: c.argument, value: c.value } });
            expect(done.completion.values).toEqual([...c.values]);
          }
        }, 20_000);
      }
    });
  }
}
