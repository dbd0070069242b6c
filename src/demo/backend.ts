// The example MCP server that the demo fronts (`sentinel demo-backend`), built
// with the MCP SDK. Loaded only by that subcommand: the gateway never imports it.

import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod/v4";
import { VERSION } from "../version.ts";

export async function runDemoBackend(): Promise<void> {
  const server = new McpServer({ name: "sentinel-demo-backend", version: VERSION });
  const notes: string[] = [];

  server.registerTool(
    "echo",
    { description: "Echoes the text back.", inputSchema: { text: z.string() } },
    ({ text }) => ({ content: [{ type: "text", text }] }),
  );
  server.registerTool(
    "add",
    { description: "Adds two numbers.", inputSchema: { a: z.number(), b: z.number() } },
    ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }),
  );
  server.registerTool(
    "add_note",
    { description: "Stores a note for this demo session.", inputSchema: { note: z.string() } },
    ({ note }) => {
      notes.push(note);
      return { content: [{ type: "text", text: `stored note #${notes.length}` }] };
    },
  );
  server.registerTool(
    "list_notes",
    { description: "Lists the notes stored so far.", inputSchema: {} },
    () => ({ content: [{ type: "text", text: notes.length ? notes.map((n, i) => `${i + 1}. ${n}`).join("\n") : "(no notes)" }] }),
  );
  server.registerPrompt(
    "review",
    { description: "Asks for a review of a piece of text.", argsSchema: { text: z.string() } },
    ({ text }) => ({ messages: [{ role: "user", content: { type: "text", text: `Please review:\n\n${text}` } }] }),
  );
  server.registerResource(
    "about",
    "demo://about",
    { mimeType: "text/plain", description: "What this demo is." },
    (uri) => ({ contents: [{ uri: uri.href, text: "Sentinel demo backend: an MCP server reached through the Sentinel gateway." }] }),
  );

  await server.connect(new StdioServerTransport());
}
