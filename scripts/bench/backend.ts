// The deterministic backend every row is measured in front of: the SDK v1 echo
// fixture, over stdio (a command) or Streamable HTTP (a URL).

import { join, resolve } from "node:path";
import { waitLine } from "./clients.ts";
import { killTree } from "./processes.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const FIXTURE = join(ROOT, "test/fixtures/echo-server.ts");
export const BUN = process.execPath;

/** The fixture as a stdio command line. */
export const fixtureCmd = (name = "echo") => [BUN, FIXTURE, "--name", name];

export type HttpBackend = { url: string; pid: number; stop(): Promise<void> };

export async function startHttpBackend(name = "echo"): Promise<HttpBackend> {
  const proc = Bun.spawn([...fixtureCmd(name), "--transport", "http"], { stdout: "pipe", stderr: "ignore" });
  const url = await waitLine(proc.stdout, /^LISTENING (\S+)/);
  return { url, pid: proc.pid, stop: () => killTree(proc.pid, proc.exited) };
}
