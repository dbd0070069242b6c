// The npm gateways a user would pick instead of Sentinel, installed on demand at
// pinned versions into .bench/peers (gitignored) and run with the machine's node.
// They run as their READMEs show, without auth: they have none to turn on.

import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { fixtureCmd, ROOT } from "./backend.ts";

export const PEERS_DIR = join(ROOT, ".bench/peers");

/** The machine's node: npm run and npx put node_modules/.bin first, where this project's pinned node devDependency sits. */
export const NODE =
  Bun.which("node", { PATH: (process.env.PATH ?? "").split(delimiter).filter((d) => !d.startsWith(join(ROOT, "node_modules"))).join(delimiter) }) ??
  Bun.which("node") ??
  "node";

export const PEERS = {
  supergateway: { pkg: "supergateway", version: "4.0.0", entry: "supergateway/dist/index.js" },
  "mcp-proxy": { pkg: "mcp-proxy", version: "6.7.19", entry: "mcp-proxy/dist/bin/mcp-proxy.mjs" },
  civic: { pkg: "@civic/passthrough-mcp-server", version: "0.12.1", entry: "@civic/passthrough-mcp-server/dist/cli.js" },
} as const;
export type PeerName = keyof typeof PEERS;

const entry = (peer: PeerName) => join(PEERS_DIR, "node_modules", PEERS[peer].entry);

/** Installs the pinned peers once; returns why each unusable one is not installed. */
export function installPeers(): Map<PeerName, string> {
  const names = Object.keys(PEERS) as PeerName[];
  const missing = names.filter((p) => !existsSync(entry(p)));
  const problems = new Map<PeerName, string>();
  if (missing.length) {
    const specs = missing.map((p) => `${PEERS[p].pkg}@${PEERS[p].version}`);
    console.error(`installing peers into ${PEERS_DIR}: ${specs.join(" ")}`);
    const res = Bun.spawnSync(["npm", "install", "--no-save", "--no-audit", "--no-fund", "--prefix", PEERS_DIR, ...specs], { cwd: ROOT, stdout: "ignore", stderr: "pipe" });
    if (res.exitCode !== 0) console.error(`npm install failed: ${res.stderr.toString().slice(-500)}`);
  }
  for (const p of names) if (!existsSync(entry(p))) problems.set(p, "not installed");
  return problems;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export type Launch = { cmd: string[]; env?: Record<string, string>; url?: string };

// The exact command lines; BENCHMARKS.md lists them.
/** stdio -> Streamable HTTP, stateful (the default stateless mode spawns a backend per request). */
export const supergatewayHttpFront = (port: number): Launch => ({
  cmd: [NODE, entry("supergateway"), "--stdio", fixtureCmd().join(" "), "--outputTransport", "streamableHttp", "--stateful", "--port", String(port), "--logLevel", "none"],
  url: `http://127.0.0.1:${port}/mcp`,
});

/** Streamable HTTP backend -> a stdio front. */
export const supergatewayStdioFront = (backendUrl: string): Launch => ({
  cmd: [NODE, entry("supergateway"), "--streamableHttp", backendUrl, "--logLevel", "none"],
});

export const mcpProxyHttpFront = (port: number): Launch => ({
  cmd: [NODE, entry("mcp-proxy"), "--port", String(port), "--", ...fixtureCmd()],
  url: `http://127.0.0.1:${port}/mcp`,
});

/** TARGET_SERVER_URL is the origin: the proxy appends /mcp itself. */
export const civicHttpFront = (port: number, backendUrl: string): Launch => ({
  cmd: [NODE, entry("civic")],
  env: { PORT: String(port), TARGET_SERVER_URL: new URL(backendUrl).origin },
  url: `http://127.0.0.1:${port}/mcp`,
});

export const civicStdioFront = (backendUrl: string): Launch => ({
  cmd: [NODE, entry("civic"), "--stdio"],
  env: { TARGET_SERVER_URL: new URL(backendUrl).origin },
});
