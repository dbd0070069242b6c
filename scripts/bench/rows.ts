// What is measured: each path (client transport -> backend transport) through
// each implementation, the direct floor included. A setup is one running process
// (kept up across rounds); its rows are the request eras it is called with.

import { fixtureCmd, startHttpBackend } from "./backend.ts";
import { httpClient, open, openWhenUp, stdioClient, waitLine, type Rpc } from "./clients.ts";
import * as peers from "./peers.ts";
import { killTree } from "./processes.ts";
import { relayHttpFront, relayStdioFront } from "./relays.ts";
import { MODERN, startHttpFront, startStdioFront, stdioBackend, token, writeConfig } from "./sentinel.ts";

export type Path = "stdio->stdio" | "HTTP->stdio" | "HTTP->HTTP" | "stdio->HTTP";
export type Impl = "direct" | "bun relay" | "sentinel" | peers.PeerName;
export type Era = "2025-11-25" | "2026-07-28";

/**
 * A running setup; `pid` is the gateway's root process (none for a direct row),
 * `roots` every process it started (its HTTP fixture too): paused while other rows run.
 */
export type Target = { rpc: Rpc; pid?: number; roots: number[]; stop(): Promise<void> };

export type Setup = { path: Path; impl: Impl; tool: string; eras: Era[]; start(): Promise<Target> };
export type Row = { id: string; path: Path; impl: Impl; era: Era; setup: Setup };

const SENTINEL_ERAS: Era[] = MODERN ? ["2025-11-25", "2026-07-28"] : ["2025-11-25"];
const LEGACY: Era[] = ["2025-11-25"];

async function stdioTarget(cmd: string[], env?: Record<string, string>): Promise<Target> {
  const { rpc, proc } = stdioClient(cmd, env);
  await open(rpc);
  return { rpc, pid: proc.pid, roots: [proc.pid], stop: async () => (rpc.close(), await killTree(proc.pid, proc.exited)) };
}

async function httpTarget(launch: peers.Launch): Promise<Target> {
  const proc = Bun.spawn(launch.cmd, { env: { ...process.env, ...launch.env }, stdout: "ignore", stderr: "ignore" });
  const rpc = await openWhenUp(launch.url!);
  return { rpc, pid: proc.pid, roots: [proc.pid], stop: () => killTree(proc.pid, proc.exited) };
}

async function sentinelStdio(backend: object): Promise<Target> {
  const { rpc, proc } = startStdioFront(writeConfig({ echo: backend }));
  await open(rpc);
  return { rpc, pid: proc.pid, roots: [proc.pid], stop: async () => (rpc.close(), await killTree(proc.pid, proc.exited)) };
}

async function sentinelHttp(backend: object): Promise<Target> {
  const { url, proc } = await startHttpFront(writeConfig({ echo: backend }));
  const rpc = httpClient(url, token);
  await open(rpc);
  return { rpc, pid: proc.pid, roots: [proc.pid], stop: () => killTree(proc.pid, proc.exited) };
}

/** The bare relay's HTTP front (it says where it listens). */
async function relayHttp(cmd: string[]): Promise<Target> {
  const proc = Bun.spawn(cmd, { stdout: "ignore", stderr: "pipe" });
  const rpc = httpClient(await waitLine(proc.stderr, /listening on (\S+)/));
  await open(rpc);
  return { rpc, pid: proc.pid, roots: [proc.pid], stop: () => killTree(proc.pid, proc.exited) };
}

/** A target in front of its own HTTP fixture, which stops with it. */
const overHttp = (start: (url: string) => Promise<Target>) => async (): Promise<Target> => {
  const backend = await startHttpBackend();
  try {
    const t = await start(backend.url);
    return { ...t, roots: [...t.roots, backend.pid], stop: async () => (await t.stop(), await backend.stop()) };
  } catch (err) {
    await backend.stop();
    throw err;
  }
};

const STDIO_BACKEND = stdioBackend();
const stdioOf = (l: peers.Launch) => stdioTarget(l.cmd, l.env);

export const SETUPS: Setup[] = [
  // The direct floor has no gateway: no pid, so no CPU or memory figures.
  { path: "stdio->stdio", impl: "direct", tool: "echo", eras: LEGACY, start: async () => ({ ...(await stdioTarget(fixtureCmd())), pid: undefined }) },
  // The floor of a Bun gateway: the same hops with nothing done between them (bare-relay.ts).
  { path: "stdio->stdio", impl: "bun relay", tool: "echo", eras: LEGACY, start: () => stdioOf(relayStdioFront("stdio")) },
  { path: "stdio->stdio", impl: "sentinel", tool: "echo__echo", eras: SENTINEL_ERAS, start: () => sentinelStdio(STDIO_BACKEND) },

  { path: "HTTP->stdio", impl: "bun relay", tool: "echo", eras: LEGACY, start: () => relayHttp(relayHttpFront("stdio")) },
  { path: "HTTP->stdio", impl: "sentinel", tool: "echo__echo", eras: SENTINEL_ERAS, start: () => sentinelHttp(STDIO_BACKEND) },
  { path: "HTTP->stdio", impl: "supergateway", tool: "echo", eras: LEGACY, start: async () => httpTarget(peers.supergatewayHttpFront(await peers.freePort())) },
  { path: "HTTP->stdio", impl: "mcp-proxy", tool: "echo", eras: LEGACY, start: async () => httpTarget(peers.mcpProxyHttpFront(await peers.freePort())) },

  {
    path: "HTTP->HTTP",
    impl: "direct",
    tool: "echo",
    eras: LEGACY,
    start: overHttp(async (url) => {
      const rpc = httpClient(url);
      await open(rpc);
      return { rpc, roots: [], stop: async () => {} };
    }),
  },
  { path: "HTTP->HTTP", impl: "bun relay", tool: "echo", eras: LEGACY, start: overHttp((url) => relayHttp(relayHttpFront(url))) },
  { path: "HTTP->HTTP", impl: "sentinel", tool: "echo__echo", eras: SENTINEL_ERAS, start: overHttp((url) => sentinelHttp({ url })) },
  { path: "HTTP->HTTP", impl: "civic", tool: "echo", eras: LEGACY, start: overHttp(async (url) => httpTarget(peers.civicHttpFront(await peers.freePort(), url))) },

  { path: "stdio->HTTP", impl: "bun relay", tool: "echo", eras: LEGACY, start: overHttp((url) => stdioOf(relayStdioFront(url))) },
  { path: "stdio->HTTP", impl: "sentinel", tool: "echo__echo", eras: SENTINEL_ERAS, start: overHttp((url) => sentinelStdio({ url })) },
  { path: "stdio->HTTP", impl: "supergateway", tool: "echo", eras: LEGACY, start: overHttp((url) => stdioOf(peers.supergatewayStdioFront(url))) },
  { path: "stdio->HTTP", impl: "civic", tool: "echo", eras: LEGACY, start: overHttp((url) => stdioOf(peers.civicStdioFront(url))) },
];

export const rowsOf = (s: Setup): Row[] =>
  s.eras.map((era) => ({ id: `${s.path} ${s.impl}${era === "2026-07-28" ? " (2026-07-28)" : ""}`, path: s.path, impl: s.impl, era, setup: s }));

export const isPeer = (impl: Impl): impl is peers.PeerName => impl !== "direct" && impl !== "sentinel" && impl !== "bun relay";
