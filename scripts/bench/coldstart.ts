// Cold start: from spawn to the first tools/list answer, median of a few starts,
// each with a fresh config and audit database.

import { startHttpBackend } from "./backend.ts";
import { httpClient, open, openWhenUp, stdioClient, type Rpc } from "./clients.ts";
import * as peers from "./peers.ts";
import { killTree } from "./processes.ts";
import { GATEWAY, startHttpFront, stdioBackend, token, writeConfig } from "./sentinel.ts";
import { median } from "./stats.ts";

export type ColdStart = { label: string; ms: number; runs: number[]; note: string };

async function listed(rpc: Rpc): Promise<void> {
  const a = await rpc.call("tools/list", {});
  if (!a.result) throw new Error(`tools/list failed: ${JSON.stringify(a).slice(0, 200)}`);
}

async function stdioOnce(cmd: string[], env?: Record<string, string>): Promise<number> {
  const t = performance.now();
  const { rpc, proc } = stdioClient(cmd, env);
  await open(rpc);
  await listed(rpc);
  const ms = performance.now() - t;
  rpc.close();
  await killTree(proc.pid, proc.exited);
  return ms;
}

async function httpOnce(launch: peers.Launch): Promise<number> {
  const t = performance.now();
  const proc = Bun.spawn(launch.cmd, { env: { ...process.env, ...launch.env }, stdout: "ignore", stderr: "ignore" });
  await listed(await openWhenUp(launch.url!));
  const ms = performance.now() - t;
  await killTree(proc.pid, proc.exited);
  return ms;
}

async function sentinelHttpOnce(backends: Record<string, object>): Promise<number> {
  const config = writeConfig(backends);
  const t = performance.now();
  const { url, proc } = await startHttpFront(config);
  const rpc = httpClient(url, token);
  await open(rpc);
  await listed(rpc);
  const ms = performance.now() - t;
  await killTree(proc.pid, proc.exited);
  return ms;
}

async function measure(label: string, note: string, once: () => Promise<number>, times: number): Promise<ColdStart> {
  const runs: number[] = [];
  for (let i = 0; i < times; i++) runs.push(await once());
  return { label, ms: median(runs), runs, note };
}

const env = token ? { SENTINEL_TOKEN: token } : undefined;

export async function coldStarts(times: number, withPeers: Set<peers.PeerName>): Promise<ColdStart[]> {
  const out: ColdStart[] = [];
  out.push(await measure("sentinel stdio, no backends", "the goal's figure (backends excluded)", () => stdioOnce([...GATEWAY, "--config", writeConfig({})], env), times));
  out.push(await measure("sentinel stdio, 1 stdio backend", "includes starting the backend", () => stdioOnce([...GATEWAY, "--config", writeConfig({ echo: stdioBackend() })], env), times));
  out.push(await measure("sentinel HTTP, no backends", "to the listening line, initialize, tools/list", () => sentinelHttpOnce({}), times));
  // An HTTP backend already up: the remaining start is the gateway's own.
  const backend = await startHttpBackend();
  try {
    out.push(await measure("sentinel stdio, 1 HTTP backend (up)", "backend already running", () => stdioOnce([...GATEWAY, "--config", writeConfig({ echo: { url: backend.url } })], env), times));
    if (withPeers.has("supergateway")) {
      const l = peers.supergatewayStdioFront(backend.url);
      out.push(await measure("supergateway stdio->HTTP (up)", "backend already running", () => stdioOnce(l.cmd, l.env), times));
    }
    if (withPeers.has("civic")) {
      const l = peers.civicStdioFront(backend.url);
      out.push(await measure("civic stdio->HTTP (up)", "backend already running", () => stdioOnce(l.cmd, l.env), times));
    }
  } finally {
    await backend.stop();
  }
  if (withPeers.has("supergateway"))
    out.push(await measure("supergateway HTTP->stdio", "includes starting the backend; polled every 5 ms", async () => httpOnce(peers.supergatewayHttpFront(await peers.freePort())), times));
  if (withPeers.has("mcp-proxy"))
    out.push(await measure("mcp-proxy HTTP->stdio", "includes starting the backend; polled every 5 ms", async () => httpOnce(peers.mcpProxyHttpFront(await peers.freePort())), times));
  return out;
}
