// Backends that speak MCP 2026-07-28 ("modern"), through the compiled gateway, with a 2025-era client in
// front (the v1 SDK Client): modern-only servers over stdio and HTTP (test/fixtures/modern-server.ts and
// modern-backend-fixture.ts, both on the v2 SDK), era "auto" against dual-era and legacy servers, the
// verdict remembered in the database, and a server that exits on the probe.
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { BIN, BUN, eventually, FIXTURE, nextLog, ROOT, startFixture, tempDir, textOf, writeConfig } from "./harness.ts";

const MODERN = join(ROOT, "test/fixtures/modern-server.ts");
const EXTRAS = join(import.meta.dir, "modern-backend-fixture.ts");
const PRELOAD = join(import.meta.dir, "modern-backend-preload.ts");
const TAP = join(ROOT, "test/fixtures/request-tap.ts");

type Caps = Record<string, unknown>;
const ALL: Caps = { sampling: {}, elicitation: {}, roots: { listChanged: true } };

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

type Served = { url: string; stderr: () => string };

/** A fixture on HTTP: its URL once it listens, and what it wrote on stderr so far. */
async function serveHttp(args: string[]): Promise<Served> {
  const proc = Bun.spawn([BUN, ...args], { stdout: "pipe", stderr: "pipe" });
  cleanups.push(() => (proc.kill(), proc.exited));
  let err = "";
  void (async () => {
    for await (const chunk of proc.stderr) err += new TextDecoder().decode(chunk);
  })();
  const reader = proc.stdout.getReader();
  let out = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`fixture exited before listening: ${err}`);
    out += new TextDecoder().decode(value);
    const m = out.match(/LISTENING (\S+)/);
    if (m) return { url: m[1]!, stderr: () => err };
  }
}

type Gw = { client: Client; stderr: () => string; close(): Promise<void>; config: string; dir: string };

/** The gateway on stdio with these backends, and a 2025-era client declaring `caps` and answering them. */
async function gateway(backends: Record<string, unknown>, caps: Caps = ALL, dir = tempDir()): Promise<Gw> {
  const config = writeConfig(dir, { backends });
  const transport = new StdioClientTransport({ command: BIN, args: ["--config", config], env: getDefaultEnvironment(), stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: "modern-backend-e2e", version: "1.0.0" }, { capabilities: caps });
  if (caps.elicitation) client.setRequestHandler(ElicitRequestSchema, () => ({ action: "accept", content: { name: "Ada", ok: true, color: "blue", context: "ctx" } }));
  if (caps.sampling) client.setRequestHandler(CreateMessageRequestSchema, () => ({ role: "assistant", model: "m", content: { type: "text", text: "Paris" } }));
  if (caps.roots) client.setRequestHandler(ListRootsRequestSchema, () => ({ roots: [{ uri: "file:///work", name: "work" }] }));
  await client.connect(transport);
  const close = () => client.close();
  cleanups.push(close);
  return { client, stderr: () => stderr, close, config, dir };
}

function verdicts(dir: string): { era: string }[] {
  const db = new Database(join(dir, "audit.db"), { readonly: true });
  try {
    return db.query("SELECT era FROM era_verdicts").all() as { era: string }[];
  } finally {
    db.close();
  }
}

/** What a modern-only server offers, asked through the gateway under prefix m__. */
function exerciseModernServer(connect: (caps: Caps) => Promise<Gw>) {
  let gw: Gw;
  test("lists, calls, prompts, reads and completes", async () => {
    gw = await connect(ALL);
    const { client } = gw;
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("m__test_simple_text");
    expect(textOf(await client.callTool({ name: "m__test_simple_text", arguments: {} }))).toBe("This is a simple text response for testing.");
    const prompt = await client.getPrompt({ name: "m__test_prompt_with_arguments", arguments: { arg1: "a", arg2: "b" } });
    expect(prompt.messages[0]!.content).toMatchObject({ text: "Prompt with arguments: arg1='a', arg2='b'" });
    const read = await client.readResource({ uri: "test://static-text" });
    expect(read.contents[0]).toMatchObject({ text: "This is the content of the static text resource." });
    const done = await client.complete({ ref: { type: "ref/prompt", name: "m__test_prompt_with_arguments" }, argument: { name: "arg1", value: "pa" } });
    expect(done.completion.values).toEqual(["paris", "park", "party"]);
  });

  test("relays progress under the client's token", async () => {
    const seen: number[] = [];
    const result = await gw.client.callTool({ name: "m__test_tool_with_progress", arguments: {} }, undefined, { onprogress: (p) => seen.push(p.progress) });
    expect(textOf(result)).toStartWith("Tool with progress executed successfully");
    // The last one comes in the same read as the result, and the v1 Client handles notifications a
    // microtask later than responses: it may drop it, whoever relays it.
    expect(seen.slice(0, 2)).toEqual([0, 50]);
  });

  test("answers input_required through the client's own handlers (elicitation, sampling, roots)", async () => {
    const call = async (name: string) => textOf(await gw.client.callTool({ name: `m__${name}`, arguments: {} }));
    expect(await call("test_input_required_result_elicitation")).toBe("Hello, Ada!");
    expect(await call("test_input_required_result_sampling")).toBe("Sampling response: Paris");
    expect(await call("test_input_required_result_list_roots")).toBe("Roots: file:///work");
    expect(await call("test_input_required_result_request_state")).toBe("state-ok: confirmed ok=true");
    expect(await call("test_input_required_result_multi_round")).toBe("Hello Ada, your favorite color is blue.");
    expect(await call("test_input_required_result_multiple_inputs")).toBe("All inputs received: name=Ada, greeting=Paris, roots=1");
    const prompt = await gw.client.getPrompt({ name: "m__test_input_required_result_prompt", arguments: {} });
    expect(prompt.messages[0]!.content).toMatchObject({ text: "Prompt with context: ctx" });
  });

  test("a client without the capability is refused cleanly", async () => {
    const bare = await connect({});
    const result = await bare.client.callTool({ name: "m__test_input_required_result_elicitation", arguments: {} });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain("elicitation");
    await expect(bare.client.getPrompt({ name: "m__test_input_required_result_prompt", arguments: {} })).rejects.toThrow(/elicitation/);
    // The backend's capability error is the client's to read; nothing is refused on Sentinel's side.
    expect(bare.stderr()).not.toMatch(/refused \(/);
  });
}

describe("modern-only stdio backend (era modern)", () => {
  exerciseModernServer((caps) => gateway({ m: { command: BUN, args: [MODERN], era: "modern" } }, caps));
});

describe("modern-only HTTP backend (era auto, probed)", () => {
  let served: Promise<Served> | null = null;
  const fixture = () => (served ??= serveHttp([MODERN, "--transport", "http", "--era", "modern"]));
  exerciseModernServer(async (caps) => gateway({ m: { url: (await fixture()).url } }, caps));
});

describe("modern backends: change notifications, cancellation, headers", () => {
  for (const transport of ["stdio", "http"] as const) {
    describe(transport, () => {
      let gw: Gw;
      let fixture: Served | null = null;
      const backendStderr = () => (fixture ? fixture.stderr() : gw.stderr());

      test("a tools list change reaches the client", async () => {
        fixture = transport === "http" ? await serveHttp([EXTRAS, "--transport", "http"]) : null;
        // On stdio the request tap says when a call has reached the fixture.
        gw = await gateway({ x: fixture ? { url: fixture.url, era: "modern" } : { command: BUN, args: ["--preload", TAP, EXTRAS], era: "modern" } });
        const changed = new Promise<void>((resolve) => gw.client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
        expect((await gw.client.listTools()).tools.map((t) => t.name)).not.toContain("x__grown");
        await gw.client.callTool({ name: "x__grow", arguments: {} });
        await changed;
        expect((await gw.client.listTools()).tools.map((t) => t.name)).toContain("x__grown");
      });

      test("resources/subscribe opens a listen for the URI; updates reach the client", async () => {
        const updates: string[] = [];
        gw.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
        await gw.client.subscribeResource({ uri: "test://watched" });
        await gw.client.callTool({ name: "x__touch", arguments: {} });
        await eventually(() => updates.length === 1);
        expect(updates).toEqual(["test://watched"]);
        await gw.client.unsubscribeResource({ uri: "test://watched" });
        // A request after the change has been acknowledged by the backend: no update is on its way any more.
        await gw.client.callTool({ name: "x__touch", arguments: {} });
        await gw.client.callTool({ name: "x__grow", arguments: {} });
        await Bun.sleep(200);
        expect(updates).toEqual(["test://watched"]);
      });

      test("a cancelled call is cancelled at the backend", async () => {
        const abort = new AbortController();
        const arrived = nextLog(backendStderr, transport === "http" ? /POST method=tools\/call name=slow/ : /received tools\/call slow/);
        const cancelled = nextLog(backendStderr, /cancelled slow/);
        const call = gw.client.callTool({ name: "x__slow", arguments: {} }, undefined, { signal: abort.signal });
        await arrived;
        abort.abort("enough");
        await expect(call).rejects.toThrow();
        await cancelled;
      });

      if (transport === "http") {
        test("POSTs only, with the 2026 headers, x-mcp-header mirrored, and no session", async () => {
          const tools = (await gw.client.listTools()).tools.map((t) => t.name);
          expect(tools).toContain("x__region");
          expect(tools).not.toContain("x__bad_header");
          expect(textOf(await gw.client.callTool({ name: "x__region", arguments: { region: "eu-west" } }))).toBe("header: eu-west");
          expect(textOf(await gw.client.callTool({ name: "x__region", arguments: { region: "zürich" } }))).toBe(`header: =?base64?${btoa("z\xc3\xbcrich")}?=`);
          const lines = fixture!.stderr().split("\n").filter((l) => /^[A-Z]+ method=/.test(l));
          expect(lines.length).toBeGreaterThan(5);
          for (const line of lines) {
            expect(line).toStartWith("POST ");
            expect(line).toContain("version=2026-07-28");
            expect(line).toContain("session=null");
            expect(line).not.toContain("method=notifications/"); // no initialized, no cancelled: the POST's close is the cancellation
          }
          expect(lines.some((l) => l.includes("method=tools/call name=region"))).toBe(true);
          expect(lines.some((l) => l.includes("method=subscriptions/listen"))).toBe(true);
          // Nothing to end at the backend either (no DELETE): the listen's POST is closed.
          const closed = nextLog(fixture!.stderr, /closed method=subscriptions\/listen/);
          await gw.close();
          await closed;
          expect(fixture!.stderr()).not.toMatch(/^(GET|DELETE) /m);
        });
      } else {
        test("lists a tool whose x-mcp-header annotation only matters over HTTP", async () => {
          expect((await gw.client.listTools()).tools.map((t) => t.name)).toContain("x__bad_header");
        });
      }
    });
  }
});

describe("era auto", () => {
  test("a dual-era stdio server is spoken to in the modern era, and the verdict is stored", async () => {
    const gw = await gateway({ d: { command: BUN, args: [MODERN, "--era", "dual"] } });
    await eventually(() => gw.stderr().includes("protocol 2026-07-28"));
    expect(textOf(await gw.client.callTool({ name: "d__test_input_required_result_elicitation", arguments: {} }))).toBe("Hello, Ada!");
    expect(verdicts(gw.dir)).toEqual([{ era: "modern" }]);
  });

  test("a dual-era HTTP server likewise", async () => {
    const { url } = await serveHttp([MODERN, "--transport", "http", "--era", "dual"]);
    const gw = await gateway({ d: { url } });
    await eventually(() => gw.stderr().includes("protocol 2026-07-28"));
    // Push-style sampling cannot reach a 2025 client of a stateless legacy HTTP server: this works only modern.
    expect(textOf(await gw.client.callTool({ name: "d__test_sampling", arguments: { prompt: "capital?" } }))).toBe("LLM response: Paris");
  });

  test("a legacy stdio server is legacy; a second gateway on the database does not probe it again", async () => {
    const dir = tempDir();
    const spawns = join(dir, "spawns.log");
    const echo = { command: BUN, args: ["--preload", PRELOAD, FIXTURE, "--name", "e"], env: { SPAWN_LOG: spawns } };
    const first = await gateway({ e: echo }, ALL, dir);
    expect(textOf(await first.client.callTool({ name: "e__echo", arguments: { text: "hi" } }))).toContain("hi");
    await eventually(() => first.stderr().includes("probed: speaks the legacy revision"));
    expect(verdicts(dir)).toEqual([{ era: "legacy" }]);
    await first.close();
    const count = () => (existsSync(spawns) ? readFileSync(spawns, "utf8").trim().split("\n").length : 0);
    expect(count()).toBe(2); // the probe's sibling, then the connection
    const second = await gateway({ e: echo }, ALL, dir);
    expect(textOf(await second.client.callTool({ name: "e__echo", arguments: { text: "again" } }))).toContain("again");
    expect(second.stderr()).not.toContain("probed");
    expect(count()).toBe(3);
  });

  test("a stdio server that exits on server/discover still works, as legacy", async () => {
    const gw = await gateway({ e: { command: BUN, args: ["--preload", PRELOAD, FIXTURE, "--name", "e"], env: { EXIT_ON_DISCOVER: "1" } } });
    await eventually(() => gw.stderr().includes("probed: speaks the legacy revision"));
    expect(textOf(await gw.client.callTool({ name: "e__echo", arguments: { text: "hi" } }))).toContain("hi");
    expect(verdicts(gw.dir)).toEqual([{ era: "legacy" }]);
  });

  test("a legacy Streamable HTTP server is legacy", async () => {
    const echo = await startFixture("e", "http");
    cleanups.push(() => echo.stop());
    const gw = await gateway({ e: { url: echo.url } });
    await eventually(() => gw.stderr().includes("probed: speaks the legacy revision"));
    expect(textOf(await gw.client.callTool({ name: "e__echo", arguments: { text: "hi" } }))).toContain("hi");
  });

  test("a remembered legacy verdict whose initialize is refused is probed again", async () => {
    const dir = tempDir();
    const gw0 = await gateway({ m: { command: BUN, args: [MODERN] } }, ALL, dir);
    await gw0.close();
    // Another gateway left a legacy verdict for the same server.
    const db = new Database(join(dir, "audit.db"));
    db.run("UPDATE era_verdicts SET era = 'legacy', probed_at = ?", [Date.now()]);
    db.close();
    const gw = await gateway({ m: { command: BUN, args: [MODERN] } }, ALL, dir);
    await eventually(() => gw.stderr().includes("verdict no longer holds"));
    expect(textOf(await gw.client.callTool({ name: "m__test_simple_text", arguments: {} }))).toBe("This is a simple text response for testing.");
    expect(verdicts(dir)).toEqual([{ era: "modern" }]);
  });
});
