// `sentinel init [--path F]`: writes a commented starter config and, beside it,
// the JSON Schema its first line points at (a file, so that editors check the
// config offline). Asks nothing; never overwrites a config.

import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { selfCommand } from "../demo/config.ts";
import { writeStderr } from "../log.ts";
import { parseFlags, UsageError } from "./args.ts";
import { EXIT_CONFIG } from "./load.ts";
import { schemaText } from "./schema.ts";

export const SCHEMA_FILE = "sentinel.schema.json";

export const initHelp = `Usage: sentinel init [--path FILE]

Writes a commented starter config (default: ./sentinel.yaml) with the built-in demo backend
and the security defaults explained, and ${SCHEMA_FILE} beside it for editors
(VS Code YAML reads the "# yaml-language-server: $schema=" first line). An existing config
is never overwritten (exit 2); the schema file is rewritten, it is generated.`;

export async function init(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, { path: { type: "string", short: "p" } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const path = resolve(values.path ?? "sentinel.yaml");
  if (existsSync(path)) {
    writeStderr(`sentinel: ${path} exists; not overwritten (pass --path FILE)\n`);
    process.exit(EXIT_CONFIG);
  }
  const schemaPath = join(dirname(path), SCHEMA_FILE);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(schemaPath, `${await schemaText()}\n`);
  writeFileSync(path, starter(path), { flag: "wx" });
  process.stdout.write(
    [
      `Wrote ${path} and ${schemaPath}. Next:`,
      `  sentinel check --config ${path}`,
      `  sentinel serve --http --config ${path}   (MCP at http://127.0.0.1:8787/mcp)`,
      `  claude mcp add sentinel -- sentinel --config ${path}`,
      "",
    ].join("\n"),
  );
}

function starter(path: string): string {
  const [command, ...pre] = selfCommand();
  const args = [...pre, "demo-backend"].map((a) => JSON.stringify(a)).join(", ");
  return `# yaml-language-server: $schema=./${SCHEMA_FILE}
# Sentinel config, written by \`sentinel init\`. Every key is described in ${SCHEMA_FILE}
# (regenerate it with \`sentinel schema > ${SCHEMA_FILE}\`).
#   sentinel check --config ${path}
#   claude mcp add sentinel -- sentinel --config ${path}

server:
  name: sentinel
  timeout: 60s            # a call to a backend that takes longer fails (per backend: backends.X.timeout)

http:                     # used by \`sentinel serve --http\`; stdio (Claude Code) needs no port
  # Loopback only: nothing off this machine can connect. Before you set 0.0.0.0,
  # configure auth below: without it, HTTP callers get 401.
  host: 127.0.0.1
  port: 8787
  allowedOrigins: []      # browser origins allowed besides loopback ones (DNS-rebinding protection)

# Who callers are. On stdio, without auth, the caller is you (\$USER). Over HTTP,
# a caller without a valid token is refused (401) unless "anonymous" is set, which
# lets anyone who can reach the port in with its roles: keep it for demos.
# identity:
#   anonymous: { roles: [] }

# auth:
#   jwt:
#     secret: \${env:SENTINEL_JWT_SECRET}   # HS256, at least 32 characters; \`sentinel token issue\` signs with it
#   apiKeys:
#     - { name: ci-bot, hash: "sha256:<64 hex>", roles: [ci] }   # from \`sentinel token hash\`; the key itself is never stored

# Without rbac every caller may use every tool. With it, what no rule allows is
# denied, and deny wins over allow.
# rbac:
#   roles:
#     developer:
#       allow: [{ backends: demo }]
#       deny: [{ tools: "*__delete_*" }]

rateLimits:
  perIdentity: 600/min    # each caller's budget of calls; past it, calls are refused until it refills

pinning:
  # Each tool's definition is pinned when first seen. block: a changed or suspicious
  # one is withheld until you approve it (\`sentinel tools diff|approve NAME\`).
  mode: block

audit:
  enabled: true           # every call, who made it and its outcome: \`sentinel audit\`
  # path: audit.db       # default: in your data directory (~/.local/share/sentinel on Linux)
  # retention: 90d        # default: kept forever

backends:                 # the MCP servers behind the gateway; tools appear as <backend>__<tool>
  demo:
    # A small example server built into this binary (echo, add, notes), so this works offline.
    command: ${JSON.stringify(command)}
    args: [${args}]
  # github:
  #   command: npx
  #   args: [-y, "@modelcontextprotocol/server-github"]
  #   env: { GITHUB_PERSONAL_ACCESS_TOKEN: "\${env:GITHUB_TOKEN}" }   # secrets by reference, never in clear
  # remote:
  #   url: https://mcp.example.com/mcp
  #   headers: { Authorization: "Bearer \${env:REMOTE_TOKEN}" }
`;
}
