// The release binaries. Always: the smoke test a release gets (version, the demo over
// HTTP answering one call), on dist/sentinel, which `npm test` builds. With
// SENTINEL_BUILD_ALL=1 also `npm run build:all` (five ~100 MB binaries, ~15 s once the
// runtimes are cached): each output's format by `file`, its checksum, the macOS ad-hoc
// signatures, and the same smoke test on dist/linux-x64/sentinel.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { binaryName, machOSignatureValid, TARGETS } from "../../scripts/build-all.ts";
import { BIN, ROOT, tempDir, textOf } from "./harness.ts";

async function smoke(bin: string): Promise<void> {
  const version = Bun.spawnSync([bin, "--version"]);
  expect(version.exitCode).toBe(0);
  expect(version.stdout.toString().trim()).toBe(pkg.version);

  const proc = Bun.spawn([bin, "serve", "--http", "--demo", "--port", "0"], {
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, XDG_DATA_HOME: tempDir() },
  });
  try {
    const url = await listeningUrl(proc.stderr);
    const client = new Client({ name: "smoke", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    expect(textOf(await client.callTool({ name: "demo__add", arguments: { a: 20, b: 22 } }))).toBe("42");
    await client.close();
  } finally {
    proc.kill("SIGTERM");
    await proc.exited;
  }
}

async function listeningUrl(stderr: ReadableStream<Uint8Array>): Promise<string> {
  const reader = stderr.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`exited before listening: ${seen}`);
    seen += decoder.decode(value, { stream: true });
    const m = /listening on (\S+)/.exec(seen);
    if (m) {
      // Keep draining, so that the gateway never blocks on a full pipe.
      void (async () => {
        while (!(await reader.read().catch(() => ({ done: true }))).done);
      })();
      return m[1]!;
    }
  }
}

describe("dist/sentinel, as a release is smoke-tested", () => {
  test("prints its version and answers a call to the demo over HTTP", () => smoke(BIN), 30_000);
});

const FORMAT: Record<string, RegExp> = {
  "linux-x64": /ELF 64-bit LSB .*x86-64/,
  "linux-arm64": /ELF 64-bit LSB .*ARM aarch64/,
  "darwin-arm64": /Mach-O 64-bit arm64 executable/,
  "darwin-x64": /Mach-O 64-bit x86_64 executable/,
  "windows-x64": /PE32\+ executable \(console\) x86-64, for MS Windows/,
};

describe.skipIf(process.env.SENTINEL_BUILD_ALL !== "1")("npm run build:all (SENTINEL_BUILD_ALL=1)", () => {
  const dist = join(ROOT, "dist");

  test("builds every target with checksums", () => {
    const build = Bun.spawnSync([process.execPath, "scripts/build-all.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(build.stderr.toString()).toBe("");
    expect(build.exitCode).toBe(0);
    const sums = Bun.spawnSync(["sha256sum", "--check", "--strict", "SHA256SUMS"], { cwd: dist });
    expect(sums.stdout.toString().trim().split("\n")).toEqual(TARGETS.map((t) => `${t.name}/${binaryName(t)}: OK`));
  }, 300_000);

  test("each binary is of its OS's format (`file`)", () => {
    if (!Bun.which("file")) throw new Error("`file` is missing: apt-get install file");
    for (const t of TARGETS) {
      const out = Bun.spawnSync(["file", "-b", join(dist, t.name, binaryName(t))]).stdout.toString();
      expect(`${t.name}: ${out}`).toMatch(new RegExp(`${t.name}: ${FORMAT[t.name]!.source}`));
    }
  });

  test("the macOS binaries carry an ad-hoc signature over every page", async () => {
    for (const t of TARGETS.filter((t) => t.platform === "darwin")) {
      const bytes = new Uint8Array(await Bun.file(join(dist, t.name, binaryName(t))).arrayBuffer());
      expect(`${t.name}: ${machOSignatureValid(bytes)}`).toBe(`${t.name}: true`);
    }
  });

  test("dist/linux-x64/sentinel passes the smoke test", () => smoke(join(dist, "linux-x64", "sentinel")), 30_000);
});
