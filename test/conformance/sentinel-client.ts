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
// Env: SENTINEL_BIN (default dist/sentinel). Exit status 0 on success, 1 if the scenario's steps failed.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ElicitRequestSchema, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const BIN = process.env.SENTINEL_BIN || join(ROOT, "dist/sentinel");
const serverUrl = process.argv.at(-1);
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? "";

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

process.exit(await main());
