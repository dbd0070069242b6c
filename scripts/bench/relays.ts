// The bare Bun relay (bare-relay.ts), compiled once into .bench/ like Sentinel
// is compiled: the floor rows, "bun relay", of each path.

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fixtureCmd, ROOT } from "./backend.ts";
import type { Launch } from "./peers.ts";

const RELAY = join(ROOT, ".bench/bare-relay");
const SOURCE = join(import.meta.dir, "bare-relay.ts");

/** Compiles the relay when it is missing or older than its source. */
export function buildRelay(): void {
  if (existsSync(RELAY) && Bun.file(RELAY).lastModified >= Bun.file(SOURCE).lastModified) return;
  mkdirSync(join(ROOT, ".bench"), { recursive: true });
  const res = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", SOURCE, "--outfile", RELAY], { stdout: "ignore", stderr: "pipe" });
  if (res.exitCode !== 0) throw new Error(`cannot compile the bare relay: ${res.stderr.toString().slice(-300)}`);
}

export const relayStdioFront = (backend: "stdio" | string): Launch => ({
  cmd: backend === "stdio" ? [RELAY, "stdio-stdio", ...fixtureCmd()] : [RELAY, "stdio-http", backend],
});

/** An HTTP front: it prints "listening on URL" on stderr (the URL is read from there). */
export const relayHttpFront = (backend: "stdio" | string): string[] =>
  backend === "stdio" ? [RELAY, "http-stdio", ...fixtureCmd()] : [RELAY, "http-http", backend];
