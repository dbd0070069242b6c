// A hand-rolled 2026-07-28 stdio server for modern-backend.test.ts, for the answers an SDK server will not
// give on demand. It writes every message it receives to the file named by its first argument, so that a
// test can read what Sentinel sent. Tools: version_once (-32022 listing 2026-07-28, the first time only),
// mismatch (-32020), gone (-32601), needs_sampling (-32021), ask (input_required with requestState "s1"
// until the retry carries an answer and that state), ask_forever (input_required every time), slow (never
// answers; a cancellation is logged like any message), end_listen (ends the newest subscriptions/listen).
import { appendFileSync } from "node:fs";

const log = process.argv[2]!;
const TOOLS = ["version_once", "mismatch", "gone", "needs_sampling", "ask", "ask_forever", "slow", "end_listen"];
const QUESTION = { method: "elicitation/create", params: { message: "q?", requestedSchema: { type: "object", properties: {} } } };
let refusedVersion = false;
const listens: (number | string)[] = [];

type Msg = { id?: number | string; method?: string; params?: Record<string, any> };
const send = (m: unknown): void => void process.stdout.write(JSON.stringify(m) + "\n");

function handle(m: Msg): void {
  if (m.id === undefined) return;
  const ok = (result: Record<string, unknown>) => send({ jsonrpc: "2.0", id: m.id, result: { resultType: "complete", ...result } });
  const fail = (code: number, message: string, data?: unknown) => send({ jsonrpc: "2.0", id: m.id, error: { code, message, ...(data !== undefined && { data }) } });
  const p = m.params ?? {};
  switch (m.method) {
    case "server/discover":
      return ok({
        supportedVersions: ["2026-07-28"],
        capabilities: { tools: { listChanged: true }, logging: {} },
        _meta: { "io.modelcontextprotocol/serverInfo": { name: "raw", version: "1" } },
      });
    case "tools/list":
      return ok({ tools: TOOLS.map((name) => ({ name, inputSchema: { type: "object" } })) });
    case "subscriptions/listen":
      // Acknowledged and held open.
      listens.push(m.id!);
      return send({ jsonrpc: "2.0", method: "notifications/subscriptions/acknowledged", params: { notifications: p.notifications, _meta: { "io.modelcontextprotocol/subscriptionId": m.id } } });
    case "tools/call":
      switch (p.name) {
        case "version_once":
          if (refusedVersion) return ok({ content: [{ type: "text", text: "second time lucky" }] });
          refusedVersion = true;
          return fail(-32022, "Unsupported protocol version", { supported: ["2026-07-28"], requested: "2026-07-28" });
        case "mismatch":
          return fail(-32020, "Bad Request: header mismatch at /srv/internal/path", { mismatch: { header: "Mcp-Name" } });
        case "gone":
          return fail(-32601, "Method not found");
        case "needs_sampling":
          return fail(-32021, "Missing required client capabilities: sampling", { requiredCapabilities: { sampling: {} } });
        case "ask":
          if (p.inputResponses?.q && p.requestState === "s1") return ok({ content: [{ type: "text", text: `got ${JSON.stringify(p.inputResponses.q)}` }] });
          return ok({ resultType: "input_required", inputRequests: { q: QUESTION }, requestState: "s1" });
        case "ask_forever":
          return ok({ resultType: "input_required", inputRequests: { q: QUESTION } });
        case "slow":
          return;
        case "end_listen": {
          // Ends the newest listen the way a server should: a result for its id.
          const id = listens.at(-1);
          send({ jsonrpc: "2.0", id, result: { resultType: "complete", _meta: { "io.modelcontextprotocol/subscriptionId": id } } });
          return ok({ content: [{ type: "text", text: `ended ${id}` }] });
        }
      }
  }
  fail(-32601, "Method not found");
}

let buffer = "";
process.stdin.on("data", (chunk) => {
  buffer += String(chunk);
  let nl: number;
  while ((nl = buffer.indexOf("\n")) !== -1) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    appendFileSync(log, line + "\n");
    handle(JSON.parse(line) as Msg);
  }
});
process.stdin.on("end", () => process.exit(0));
