// Puts Sentinel in the client seat of the MCP conformance suite's client scenarios:
//
//   bun node_modules/@modelcontextprotocol/conformance/dist/index.js client \
//     --command "bun test/conformance/sentinel-client.ts" --scenario tools_call
//
// The suite starts a test MCP server and runs `<command> <serverUrl>` with MCP_CONFORMANCE_SCENARIO set.
// This script writes a throwaway config whose only backend is that server (`{ url }`, prefix "" so names are
// unchanged), starts `dist/sentinel --config <cfg>` on stdio, connects an SDK client to it, and does what the
// scenario asks. So Sentinel is the MCP client the suite grades: it initializes with the suite's server,
// forwards our calls to it, and forwards the server's elicitation requests back to our client.
//
// The 2026-07-28 client scenarios (conformance 0.2.0-alpha, test/conformance/modern.ts) use two more modes:
//   --modern  the same, but the client driving Sentinel is a v2 SDK client in `auto` mode (modern if Sentinel's
//             stdio front answers server/discover, 2025 otherwise), and the steps are those of MODERN_STEPS;
//   --direct  no Sentinel: a v2 SDK client pinned to 2026-07-28 does the same steps against the suite's server,
//             the reference that shows the steps are right.
//
// Env: SENTINEL_BIN (default dist/sentinel), SENTINEL_BACKEND_ERA (the backend's `era`; default unset).
// Exit status 0 on success, 1 if the scenario's steps failed.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client as ModernClient, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport as ModernStdioTransport } from "@modelcontextprotocol/client/stdio";

const ROOT = resolve(import.meta.dir, "../..");
const BIN = process.env.SENTINEL_BIN || join(ROOT, "dist/sentinel");
const serverUrl = process.argv.at(-1);
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "";
const mode = process.argv.includes("--direct") ? "direct" : process.argv.includes("--modern") ? "modern" : "legacy";

const log = (msg: string) => console.error(`[sentinel-client ${scenario}] ${msg}`);

/** What each scenario needs from the client, beyond connecting: the tool to call and its arguments. */
const CALLS: Record<string, { tool: string; args: Record<string, unknown>; expect?: RegExp } | null> = {
  initialize: null,
  tools_call: { tool: "add_numbers", args: { a: 5, b: 3 }, expect: /8/ },
  "elicitation-sep1034-client-defaults": { tool: "test_client_elicitation_defaults", args: {}, expect: /Elicitation completed/ },
  "sse-retry": { tool: "test_reconnection", args: {}, expect: /Reconnection test completed/ },
};

async function main(): Promise<number> {
  if (!serverUrl || !/^https?:\/\//.test(serverUrl)) {
    log(`expected the server URL as the last argument, got ${serverUrl}`);
    return 1;
  }
  if (mode !== "legacy") return modernMain(serverUrl);
  if (!(scenario in CALLS)) {
    log(`unsupported scenario (supported: ${Object.keys(CALLS).join(", ")})`);
    return 1;
  }
  if (!existsSync(BIN)) {
    log(`${BIN} not found: run \`bun run build\` first`);
    return 1;
  }
  const dir = mkdtempSync(join(tmpdir(), "sentinel-conformance-client-"));
  const cfg = join(dir, "sentinel.json");
  writeFileSync(
    cfg,
    JSON.stringify(
      { audit: { path: join(dir, "audit.db") }, backends: { conf: { url: serverUrl, prefix: "" } } },
      null,
      2,
    ),
  );

  const transport = new StdioClientTransport({
    command: BIN,
    args: ["--config", cfg],
    env: getDefaultEnvironment(),
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  // applyDefaults: when we accept a form elicitation, the SDK fills every field we leave out from the
  // requested schema's `default`s (SEP-1034), so an accept with empty content carries the defaults.
  const client = new Client(
    { name: "sentinel-conformance-client", version: "1.0.0" },
    { capabilities: { elicitation: { form: { applyDefaults: true } } } },
  );
  const elicitations: unknown[] = [];
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    elicitations.push(req.params);
    log(`elicitation/create received: ${JSON.stringify(req.params).slice(0, 300)}`);
    return { action: "accept", content: {} };
  });
  // The gateway announces a catalog change (a backend that came up) with tools/list_changed.
  let listChanged = () => {};
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => listChanged());

  try {
    await client.connect(transport);
    log(`connected to Sentinel (${JSON.stringify(client.getServerVersion())})`);
    const call = CALLS[scenario];
    if (call) {
      // Backends start asynchronously; the stdio front answers initialize once they settled, but be tolerant:
      // list again at each tools/list_changed, armed before listing so that none is missed.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const changed = new Promise<void>((resolve) => (listChanged = resolve));
        const { tools } = await client.listTools();
        if (tools.some((t) => t.name === call.tool)) break;
        const left = deadline - Date.now();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), Math.max(0, left))));
        const woke = await Promise.race([changed, late]);
        clearTimeout(timer);
        if (woke === "late") throw new Error(`Sentinel never listed ${call.tool}; tools: ${tools.map((t) => t.name).join(", ")}`);
      }
      const result = await client.callTool({ name: call.tool, arguments: call.args }, undefined, { timeout: 20_000 });
      const text = JSON.stringify(result);
      log(`${call.tool} -> ${text.slice(0, 500)}`);
      if (result.isError) throw new Error(`${call.tool} returned isError: ${text}`);
      if (call.expect && !call.expect.test(text)) throw new Error(`${call.tool} returned an unexpected result: ${text}`);
      if (scenario === "elicitation-sep1034-client-defaults" && elicitations.length === 0) {
        throw new Error("the server's elicitation/create never reached the client");
      }
    } else {
      // initialize: connecting is the scenario. Listing proves the backend session is usable.
      await client.listTools();
    }
    return 0;
  } catch (err) {
    log(`FAILED: ${(err as Error).stack ?? err}`);
    log(`sentinel stderr:\n${stderr}`);
    return 1;
  } finally {
    await client.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------
// 2026-07-28 client scenarios

type Context = { toolCalls?: { name: string; arguments: Record<string, unknown> }[] };
type Tool = { name: string; inputSchema?: { properties?: Record<string, { type?: unknown }>; required?: string[] } };
type Steps = { waitFor?: string; run: (c: ModernClient, ctx: Context, tools: Tool[]) => Promise<void> };

function expectText(result: unknown, pattern: RegExp | string, what: string): void {
  const text = JSON.stringify(result);
  if ((result as { isError?: boolean }).isError) throw new Error(`${what} returned isError: ${text}`);
  if (!(typeof pattern === "string" ? text.includes(pattern) : pattern.test(text))) throw new Error(`${what} returned an unexpected result: ${text}`);
}

/** Arguments that satisfy a tool's required properties, by type (for scenarios that only grade that a call is made). */
function argsFor(tool: Tool): Record<string, unknown> {
  const sample: Record<string, unknown> = { string: "x", integer: 1, number: 1, boolean: true, object: {}, array: [], null: null };
  const props = tool.inputSchema?.properties ?? {};
  return Object.fromEntries((tool.inputSchema?.required ?? []).map((k) => [k, sample[String(props[k]?.type)] ?? "x"]));
}

/** What each 2026-07-28 client scenario asks of the client, beyond connecting (read from the suite's mock servers). */
const MODERN_STEPS: Record<string, Steps> = {
  tools_call: {
    waitFor: "add_numbers",
    run: async (c) => expectText(await c.callTool({ name: "add_numbers", arguments: { a: 5, b: 3 } }), /8/, "add_numbers"),
  },
  // Graded on every request's headers and _meta, including a retry after a -32022: listing is enough.
  "request-metadata": { run: async (c) => void (await c.listTools(undefined, { cacheMode: "refresh" })) },
  "sep-2322-client-request-state": {
    waitFor: "test_mrtr_echo_state",
    run: async (c) => {
      const expected: [string, string][] = [
        ["test_mrtr_echo_state", "echo-state-ok"],
        ["test_mrtr_no_state", "no-state-ok"],
        ["test_mrtr_unrelated", "unrelated-ok"],
        ["test_mrtr_no_result_type", "no-result-type-test-ok"],
      ];
      for (const [name, text] of expected) {
        const result = await c.callTool({ name, arguments: {} }).catch((err: Error) => err);
        // The mock answers this one without resultType, which a client MUST read as "complete" (what the scenario
        // grades: no retry). The v2 SDK rejects such a result instead; that rejection is not the scenario's failure.
        if (result instanceof Error && name === "test_mrtr_no_result_type" && /resultType/.test(result.message)) {
          log(`${name}: the client rejected a result without resultType (${result.message.slice(0, 120)})`);
          continue;
        }
        if (result instanceof Error) throw result;
        expectText(result, text, name);
      }
    },
  },
  // Graded on Mcp-Method and Mcp-Name: one request of each kind the mock serves.
  "http-standard-headers": {
    waitFor: "test_headers",
    run: async (c, _ctx, tools) => {
      for (const t of tools) await c.callTool({ name: t.name, arguments: argsFor(t) });
      const { resources } = await c.listResources();
      for (const r of resources) await c.readResource({ uri: r.uri });
      const { prompts } = await c.listPrompts();
      for (const p of prompts) await c.getPrompt({ name: p.name });
      if (!resources.length || !prompts.length) throw new Error(`expected resources and prompts, got ${resources.length} and ${prompts.length}`);
    },
  },
  "http-custom-headers": {
    waitFor: "test_custom_headers",
    run: async (c, ctx) => {
      if (!ctx.toolCalls?.length) throw new Error("MCP_CONFORMANCE_CONTEXT has no toolCalls");
      for (const call of ctx.toolCalls) expectText(await c.callTool(call), "Custom headers test completed", call.name);
    },
  },
  // The client must drop the tools whose x-mcp-header annotations are invalid, and keep using the valid one:
  // call whatever is listed.
  "http-invalid-tool-headers": {
    waitFor: "valid_tool",
    run: async (c, _ctx, tools) => {
      for (const t of tools) await c.callTool({ name: t.name, arguments: argsFor(t) });
    },
  },
  // Graded on the client not fetching a network $ref while it lists tools.
  "json-schema-ref-no-deref": { waitFor: "lookup_user", run: async () => {} },
};

/** A subclass, so that the v2 client probes Sentinel in place instead of on a second, sibling Sentinel process. */
class InPlaceStdioTransport extends ModernStdioTransport {}

async function modernMain(url: string): Promise<number> {
  const steps = MODERN_STEPS[scenario];
  if (!steps) {
    log(`unsupported scenario (supported: ${Object.keys(MODERN_STEPS).join(", ")})`);
    return 1;
  }
  const ctx = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT ?? "{}") as Context;
  const client = new ModernClient(
    { name: "sentinel-conformance-client", version: "1.0.0" },
    {
      versionNegotiation: { mode: mode === "direct" ? { pin: "2026-07-28" } : "auto", probe: { timeoutMs: 5_000 } },
      capabilities: { elicitation: { form: {} }, sampling: {}, roots: { listChanged: true } },
    },
  );
  client.setRequestHandler("elicitation/create", () => ({ action: "accept", content: { confirmed: true } }));
  client.setRequestHandler("sampling/createMessage", () => ({ role: "assistant", content: { type: "text", text: "Paris" }, model: "conformance" }));
  client.setRequestHandler("roots/list", () => ({ roots: [] }));
  let stderr = "";
  let dir: string | undefined;
  try {
    if (mode === "direct") await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    else {
      if (!existsSync(BIN)) throw new Error(`${BIN} not found: run \`bun run build\` first`);
      dir = mkdtempSync(join(tmpdir(), "sentinel-conformance-client-"));
      const cfg = join(dir, "sentinel.json");
      const era = process.env.SENTINEL_BACKEND_ERA;
      const backend = { url, prefix: "", ...(era && { era }) };
      writeFileSync(cfg, JSON.stringify({ audit: { path: join(dir, "audit.db") }, backends: { conf: backend } }, null, 2));
      const transport = new InPlaceStdioTransport({ command: BIN, args: ["--config", cfg], env: getDefaultEnvironment(), stderr: "pipe" });
      transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      await client.connect(transport);
    }
    log(`connected (${mode}, era ${client.getProtocolEra()}): ${JSON.stringify(client.getServerVersion())}`);
    // Sentinel's backend starts asynchronously: list until the scenario's tool shows (bounded). "refresh", not
    // "bypass": the v2 client mirrors x-mcp-header arguments from the tools it listed into the cache.
    const deadline = Date.now() + 10_000;
    let tools: Tool[] = [];
    for (;;) {
      tools = (await client.listTools(undefined, { cacheMode: "refresh" })).tools as Tool[];
      if (!steps.waitFor || tools.some((t) => t.name === steps.waitFor)) break;
      if (Date.now() > deadline) throw new Error(`${steps.waitFor} never listed; tools: ${tools.map((t) => t.name).join(", ") || "none"}`);
      await Bun.sleep(200);
    }
    await steps.run(client, ctx, tools);
    return 0;
  } catch (err) {
    log(`FAILED: ${(err as Error).stack ?? err}`);
    if (stderr) log(`sentinel stderr:\n${stderr}`);
    return 1;
  } finally {
    await client.close().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

process.exit(await main());
