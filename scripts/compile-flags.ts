// What scripts/build.ts and scripts/build-all.ts compile with, and the start-up
// profile that lays out the binary's bytecode.
//
// - No .env or bunfig.toml from whatever directory the binary starts in: config
//   comes only from --config.
// - --bytecode: JSC loads precompiled bytecode instead of parsing the bundle
//   (cold start to the first tools/list ~45 -> ~23 ms, ~1.5 MB less heap).
// - --compile-jit-policy=20: tier-up thresholds 20x while starting, so run-once
//   start-up code stays in the lower tiers (~3-5 MB less idle RSS); the first
//   call forwarded to a backend restores the normal policy (src/pipeline/warm.ts).
// - --bytecode-order: the bytecode a typical start runs is laid out together,
//   so fewer pages of the binary are touched (~1-1.5 MB less idle RSS). The
//   order comes from running a first build on the embedded demo, over stdio and
//   HTTP (offline, ~1 s); one profile serves every target's build.

import { $ } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const COMPILE_FLAGS = ["--compile", "--compile-jit-policy=20", "--minify", "--sourcemap=none", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig"];

const INIT = { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "build", version: "1" } };
const rpc = (id: number, method: string, params: object = {}) => JSON.stringify({ jsonrpc: "2.0", id, method, params }) + "\n";

/**
 * Builds `outfile` with bytecode laid out by `profile` (profileStartup()), or
 * without bytecode when `profile` is null; `extra`: --target and
 * --compile-executable-path for another platform's binary.
 */
export async function compile(root: string, outfile: string, profile: StartupProfile | null, extra: string[] = []): Promise<void> {
  const bytecode = profile ? ["--bytecode", `--bytecode-order=${profile.files.join(",")}`] : [];
  await $`${process.execPath} build ${COMPILE_FLAGS} ${bytecode} ${extra} src/main.ts --outfile ${outfile}`.cwd(root).quiet();
}

export type StartupProfile = { files: string[]; remove(): void };

/** Builds a first binary for this machine and records what it runs starting up on stdio, then on HTTP (most common first). */
export async function profileStartup(root: string): Promise<StartupProfile> {
  const work = mkdtempSync(join(tmpdir(), "sentinel-build-"));
  const remove = () => rmSync(work, { recursive: true, force: true });
  try {
    const first = join(work, process.platform === "win32" ? "first.exe" : "first");
    await $`${process.execPath} build ${COMPILE_FLAGS} --bytecode src/main.ts --outfile ${first}`.cwd(root).quiet();
    const files = [join(work, "stdio.order"), join(work, "http.order")];
    await profileStdio(first, files[0]!);
    await profileHttp(first, files[1]!);
    return { files, remove };
  } catch (err) {
    remove();
    throw err;
  }
}

/** The demo over stdio: initialize, tools/list, a call, then stdin closes and it exits (writing the profile). */
async function profileStdio(bin: string, profile: string): Promise<void> {
  const proc = Bun.spawn([bin, "--demo"], { stdin: "pipe", stdout: "pipe", stderr: "ignore", env: { ...process.env, BUN_BYTECODE_ORDER_OUT: profile } });
  proc.stdin.write(rpc(1, "initialize", INIT) + JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n" + rpc(2, "tools/list"));
  proc.stdin.flush();
  const out = lineReader(proc.stdout);
  const tools = JSON.parse(await out.until((l) => l.includes('"id":2'))).result?.tools as { name: string }[] | undefined;
  proc.stdin.write(rpc(3, "tools/call", { name: tools?.[0]?.name ?? "none", arguments: {} }));
  proc.stdin.flush();
  await out.until((l) => l.includes('"id":3'));
  out.drain();
  proc.stdin.end();
  await proc.exited;
}

/** The demo over HTTP: a session, tools/list, then SIGTERM (the profile is written at exit). */
async function profileHttp(bin: string, profile: string): Promise<void> {
  const proc = Bun.spawn([bin, "serve", "--http", "--port", "0", "--demo"], { stdout: "ignore", stderr: "pipe", env: { ...process.env, BUN_BYTECODE_ORDER_OUT: profile } });
  const err = lineReader(proc.stderr);
  const url = /listening on (\S+)/.exec(await err.until((l) => l.includes("listening on")))![1]!;
  err.drain();
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const init = await fetch(url, { method: "POST", headers, body: rpc(1, "initialize", INIT) });
  headers["mcp-session-id"] = init.headers.get("mcp-session-id") ?? "";
  await init.text();
  await (await fetch(url, { method: "POST", headers, body: rpc(2, "tools/list") })).text();
  proc.kill("SIGTERM");
  await proc.exited;
}

/** A child's output, line by line; drain() keeps reading (and dropping) the rest, so the child never blocks. */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  return {
    async until(done: (line: string) => boolean): Promise<string> {
      for (;;) {
        let nl: number;
        while ((nl = buf.indexOf("\n")) !== -1) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (done(line)) return line;
        }
        const { value, done: ended } = await reader.read();
        if (ended) throw new Error(`the profiling run ended early: ${buf.slice(0, 500)}`);
        buf += decoder.decode(value, { stream: true });
      }
    },
    drain(): void {
      void (async () => {
        while (!(await reader.read()).done);
      })().catch(() => {});
    },
  };
}
