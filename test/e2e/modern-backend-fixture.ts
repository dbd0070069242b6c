// A second 2026-07-28 server on the v2 SDK for modern-backend.test.ts: what test/fixtures/modern-server.ts
// does not have. `slow` waits until cancelled and says so on stderr; `grow` adds the tool `grown` (a real
// tools list change); `touch` announces an update of test://watched to the listens subscribed to it
// (resources.subscribe); `region` has an x-mcp-header argument and answers with the Mcp-Param-Region header
// it came with (HTTP); `bad_header` has an invalid annotation (x-mcp-header on a number), so that an HTTP
// client must leave it out. Over HTTP every request is logged on stderr with its method and headers.
// Run: bun modern-backend-fixture.ts [--transport stdio|http]
import { parseArgs } from "node:util";
import { createMcpHandler, fromJsonSchema, type JsonSchemaType, McpServer } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";

const { values: flags } = parseArgs({ options: { transport: { type: "string", default: "stdio" } } });
const text = (t: string) => ({ content: [{ type: "text" as const, text: t }] });

let grown = false;
let lastRegion: string | null = null;
const notify = { toolsChanged: (_s: McpServer) => {}, resourceUpdated: (_s: McpServer, _uri: string) => {} };

function buildServer(): McpServer {
  const server = new McpServer(
    { name: "modern-backend-fixture", version: "1.0.0" },
    { capabilities: { resources: { subscribe: true, listChanged: true } } },
  );
  server.registerTool("slow", { description: "Waits 30 s, or until cancelled" }, (ctx) =>
    new Promise((resolve) => {
      const timer = setTimeout(() => resolve(text("slept")), 30_000);
      ctx.mcpReq.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        console.error("cancelled slow");
        resolve(text("cancelled"));
      });
    }),
  );
  const addGrown = (s: McpServer) => s.registerTool("grown", { description: "Added by grow" }, () => text("grown"));
  if (grown) addGrown(server);
  server.registerTool("grow", { description: "Adds the tool grown" }, () => {
    if (!grown) {
      grown = true;
      addGrown(server);
      notify.toolsChanged(server);
    }
    return text("grew");
  });
  server.registerTool("touch", { description: "Announces an update of test://watched" }, () => {
    notify.resourceUpdated(server, "test://watched");
    return text("touched");
  });
  server.registerTool(
    "region",
    {
      description: "Answers with the Mcp-Param-Region header it came with",
      inputSchema: fromJsonSchema({ type: "object", properties: { region: { type: "string", "x-mcp-header": "Region" } }, required: ["region"] } as JsonSchemaType),
    },
    () => text(`header: ${lastRegion}`),
  );
  server.registerTool(
    "bad_header",
    {
      description: "An x-mcp-header on a number property is invalid",
      inputSchema: fromJsonSchema({ type: "object", properties: { ratio: { type: "number", "x-mcp-header": "Ratio" } } } as JsonSchemaType),
    },
    () => text("should not be listed over HTTP"),
  );
  server.registerResource("watched", "test://watched", { mimeType: "text/plain" }, (uri) => ({
    contents: [{ uri: uri.href, mimeType: "text/plain", text: "watched" }],
  }));
  return server;
}

if (flags.transport === "stdio") {
  notify.toolsChanged = () => {}; // registerTool on a connected instance announces it itself
  notify.resourceUpdated = (s, uri) => void s.server.sendResourceUpdated({ uri });
  serveStdio(buildServer, { legacy: "reject", onerror: (e) => console.error(`fixture: ${e.message}`) });
  process.stdin.on("end", () => process.exit(0));
} else {
  const handler = createMcpHandler(buildServer, { legacy: "reject", onerror: (e) => console.error(`fixture: ${e.message}`) });
  notify.toolsChanged = () => handler.notify.toolsChanged();
  notify.resourceUpdated = (_s, uri) => handler.notify.resourceUpdated(uri);
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch(req) {
      const h = req.headers;
      console.error(
        `${req.method} method=${h.get("mcp-method")} name=${h.get("mcp-name")} version=${h.get("mcp-protocol-version")} session=${h.get("mcp-session-id")}`,
      );
      if (h.get("mcp-name") === "region") lastRegion = h.get("mcp-param-region");
      req.signal.addEventListener("abort", () => console.error(`closed method=${h.get("mcp-method")} name=${h.get("mcp-name")}`));
      return handler.fetch(req);
    },
  });
  console.log(`LISTENING http://127.0.0.1:${server.port}/mcp`);
}
