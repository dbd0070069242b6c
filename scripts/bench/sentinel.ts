// Sentinel as benchmarked: the full pipeline on (JWT on both fronts, RBAC, a rate
// limit, audit), each instance with its own config and a fresh audit database.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { fixtureCmd, ROOT } from "./backend.ts";
import { stdioClient, waitLine, type StdioProcess } from "./clients.ts";

export const BIN = join(ROOT, "dist/sentinel");
// Another way to run the gateway: an older binary, or "bun --cpu-prof-md --cpu-prof-dir=/tmp/prof src/main.ts" to profile it.
export const GATEWAY = process.env.SENTINEL_BENCH_GATEWAY?.split(" ") ?? [BIN];
// SENTINEL_BENCH_GOVERNANCE=off: anonymous callers, no RBAC or rate limit (the goals assume it on).
export const GOVERNANCE = process.env.SENTINEL_BENCH_GOVERNANCE !== "off";
// SENTINEL_BENCH_AUDIT=off measures what the audit trail costs.
export const AUDIT = process.env.SENTINEL_BENCH_AUDIT !== "off";
// SENTINEL_BENCH_METRICS=on|off sets metrics.enabled; unset writes no key (a build from before metrics).
const METRICS = process.env.SENTINEL_BENCH_METRICS;
// SENTINEL_BENCH_MODERN=off: no 2026-07-28 rows (a gateway built before it spoke 2026-07-28).
export const MODERN = process.env.SENTINEL_BENCH_MODERN !== "off";

export function assertBinary(): void {
  if (!process.env.SENTINEL_BENCH_GATEWAY && !existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" first`);
}

const SECRET = "bench-secret-0123456789abcdefghijklmnop";
export const TOKEN = await new SignJWT({ roles: ["bench"] })
  .setProtectedHeader({ alg: "HS256" })
  .setSubject("bench")
  .setAudience("sentinel")
  .setExpirationTime("2h")
  .sign(new TextEncoder().encode(SECRET));
export const token = GOVERNANCE ? TOKEN : undefined;

const governance = GOVERNANCE
  ? {
      auth: { jwt: { secret: SECRET } },
      rbac: { roles: { bench: { allow: [{ tools: "echo__*" }], deny: [{ tools: "*__crash" }] } } },
      rateLimits: { perIdentity: "1000000/min" },
    }
  : { identity: { anonymous: { roles: [] } } };

const dirs: string[] = [];
process.on("exit", () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Writes a config in a fresh directory (fresh audit DB); backends default to one stdio echo fixture. */
export function writeConfig(backends: Record<string, object> = { echo: stdioBackend() }): string {
  const dir = mkdtempSync(join(tmpdir(), "sentinel-bench-"));
  dirs.push(dir);
  const path = join(dir, "sentinel.json");
  const metrics = METRICS && { metrics: { enabled: METRICS !== "off" } };
  writeFileSync(path, JSON.stringify({ ...governance, ...metrics, audit: { path: join(dir, "audit.db"), enabled: AUDIT }, backends }));
  return path;
}

export const stdioBackend = (name = "echo") => {
  const [command, ...args] = fixtureCmd(name);
  return { command, args };
};

export function startStdioFront(config: string): StdioProcess {
  return stdioClient([...GATEWAY, "--config", config], token ? { SENTINEL_TOKEN: token } : {});
}

export async function startHttpFront(config: string): Promise<{ url: string; proc: Bun.Subprocess }> {
  const proc = Bun.spawn([...GATEWAY, "serve", "--http", "--port", "0", "--config", config], { stdout: "ignore", stderr: "pipe" });
  const url = await waitLine(proc.stderr, /listening on (\S+)/);
  return { url, proc };
}

export type GatewayInfo = { command: string; version: string; binaryMb: number | null; commit: string; srcDirty: boolean };

/** What was measured: the command, its version, and the source commit (a dirty src/ means uncommitted changes were built). */
export function gatewayInfo(): GatewayInfo {
  const run = (cmd: string[]) => Bun.spawnSync(cmd, { cwd: ROOT, stderr: "ignore" }).stdout.toString().trim();
  return {
    command: GATEWAY.join(" "),
    version: run([...GATEWAY, "--version"]),
    binaryMb: existsSync(GATEWAY[0]!) ? Bun.file(GATEWAY[0]!).size / 2 ** 20 : null,
    commit: run(["git", "rev-parse", "--short", "HEAD"]),
    srcDirty: run(["git", "status", "--porcelain", "src"]) !== "",
  };
}
