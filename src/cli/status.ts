// `sentinel status --config F`: each backend's state, as /readyz reports it.
// Asked of the running HTTP gateway (http.host:port of the config, or --url);
// when none answers (a stdio setup), the backends are started once, reported
// on, and stopped. Exit 0 when ready, 1 when not.

import { delay, Gateway } from "../gateway.ts";
import { setLogLevel } from "../log.ts";
import { readiness, statusTable, type Readiness } from "../ops/status.ts";
import { parseFlags } from "./args.ts";
import { loadOrExit } from "./load.ts";

export const statusHelp = `Usage: sentinel status --config FILE [--url URL] [--json]

Prints each backend's state (starting, ready, degraded, open-circuit, down), era,
transport, calls in flight, restarts, circuit and last error. Asks the running
HTTP gateway (GET /readyz at http.host:port of the config, or --url: its base
URL or its /readyz URL); if none answers, starts the backends once and reports.
Exits 0 when every backend not marked optional is ready, else 1.`;

// A gateway on this machine answers /readyz in milliseconds; waiting longer only delays the fallback.
const ASK_TIMEOUT_MS = 2000;

export async function status(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, { config: { type: "string", short: "c" }, url: { type: "string" }, json: { type: "boolean" } });
  const config = await loadOrExit(values.config);
  const url = readyzUrl(values.url ?? `http://${hostOf(config.http.host)}:${config.http.port}`);
  const asked = await ask(url);
  const report = asked ?? (await standalone(config));
  const source = asked ? `from ${url}` : `backends started once: no gateway answered at ${url}`;
  if (values.json) process.stdout.write(JSON.stringify({ ...report, source: asked ? "gateway" : "standalone" }, null, 2) + "\n");
  else process.stdout.write(`${statusTable(report)}(${source})\n`);
  process.exitCode = report.ready ? 0 : 1;
}

function readyzUrl(base: string): string {
  const u = new URL(base);
  if (!u.pathname.endsWith("/readyz")) u.pathname = "/readyz";
  return u.href;
}

/** A wildcard listen address is reached on loopback. */
function hostOf(host: string): string {
  if (host === "0.0.0.0" || host === "" || host === "::") return "127.0.0.1";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

async function ask(url: string): Promise<Readiness | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(ASK_TIMEOUT_MS) });
    // 503 is an answer too: not ready, with the same body.
    if (res.status !== 200 && res.status !== 503) return null;
    const body = (await res.json()) as Readiness;
    return Array.isArray(body.backends) ? body : null;
  } catch {
    return null;
  }
}

async function standalone(config: Awaited<ReturnType<typeof loadOrExit>>): Promise<Readiness> {
  setLogLevel("error");
  // Reporting needs no audit trail.
  const gateway = new Gateway({ ...config, audit: { ...config.audit, enabled: false } });
  gateway.start();
  await Promise.race([Promise.all(gateway.backends.map((b) => b.settled)), delay(config.server.startupTimeoutMs)]);
  const report = readiness(gateway.backends);
  await gateway.stop();
  return report;
}
