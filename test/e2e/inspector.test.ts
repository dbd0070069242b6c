// The MCP Inspector 2.x CLI (@modelcontextprotocol/inspector, pinned devDependency, run under npm's Node 22 in
// node_modules/node) lists and calls tools through both fronts of the compiled gateway, in both protocol eras:
// `--protocol-era modern` pins 2026-07-28 (it fails unless server/discover offers it: the first test shows that
// on a legacy-only server, so a modern run that succeeds did speak 2026-07-28), `--protocol-era legacy` is the
// 2025 control. Behind Sentinel: @modelcontextprotocol/server-everything (a 2025-era server) and
// test/fixtures/modern-server.ts (2026-07-28 only), so each era meets a backend of each era.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BIN, BUN, EVERYTHING, NODE, ROOT, startHttpGateway, tempDir, textOf, writeConfig, type HttpGateway } from "./harness.ts";

const INSPECTOR = join(ROOT, "node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js");
const NODE22 = join(ROOT, "node_modules/node/bin/node");
const MODERN_FIXTURE = join(ROOT, "test/fixtures/modern-server.ts");
const MODERN = "2026-07-28";

const everything = { command: NODE, args: [EVERYTHING, "stdio"] };
const modernFixture = { command: BUN, args: [MODERN_FIXTURE, "--era", "modern"] };

type Out = { code: number | null; json: Record<string, any>; stdout: string; stderr: string };

/** `inspector --cli --protocol-era ERA --format json ARGS -- TARGET`, bounded; stdout is one JSON object. */
async function inspector(era: "modern" | "legacy", args: string[], target: string[], home: string): Promise<Out> {
  const proc = Bun.spawn([NODE22, INSPECTOR, "--cli", "--protocol-era", era, "--format", "json", "--connect-timeout", "10000", ...args, "--", ...target], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, NO_COLOR: "1" },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 25_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  let json: Record<string, any> = {};
  try {
    json = JSON.parse(stdout);
  } catch {}
  return { code, json, stdout, stderr };
}

let home: string;
let config: string;
let http: HttpGateway;
const targets: Record<"stdio" | "http", () => string[]> = { stdio: () => [BIN, "--config", config], http: () => [http.url] };

beforeAll(async () => {
  const dir = tempDir();
  home = join(dir, "home");
  config = writeConfig(dir, {
    identity: { anonymous: { roles: [] } },
    backends: { everything, modern: modernFixture },
  });
  http = await startHttpGateway(config);
});

afterAll(async () => {
  await http?.stop();
});

test("--protocol-era modern refuses a 2025-only server (so a modern run that succeeds spoke 2026-07-28)", async () => {
  const out = await inspector("modern", ["--method", "tools/list"], [NODE, EVERYTHING, "stdio"], tempDir());
  expect(out.code, out.stdout).not.toBe(0);
  expect(out.stderr).toContain(`did not offer pinned protocol version ${MODERN}`);
});

/** Lists, then calls a tool of each backend, through one front in one era; each step's output is in the message. */
async function listAndCall(era: "modern" | "legacy", front: "stdio" | "http") {
  const target = targets[front]();
  const [list, echo, simple] = await Promise.all([
    inspector(era, ["--method", "tools/list"], target, home),
    inspector(era, ["--method", "tools/call", "--tool-name", "everything__echo", "--tool-arg", "message=hi"], target, home),
    inspector(era, ["--method", "tools/call", "--tool-name", "modern__test_simple_text"], target, home),
  ]);
  const why = (o: Out) => `exit ${o.code}\nstdout: ${o.stdout.slice(0, 2000)}\nstderr: ${o.stderr.slice(-2000)}\ngateway (http) stderr:\n${http.stderr().slice(-2000)}`;
  expect(list.code, why(list)).toBe(0);
  const names = (list.json.result?.tools ?? []).map((t: { name: string }) => t.name);
  expect(names, why(list)).toContain("everything__echo");
  expect(names, why(list)).toContain("modern__test_simple_text");
  expect(echo.code, why(echo)).toBe(0);
  expect(textOf(echo.json.result), why(echo)).toBe("Echo: hi");
  expect(simple.code, why(simple)).toBe(0);
  expect(textOf(simple.json.result), why(simple)).toBe("This is a simple text response for testing.");
}

// The control on one front (the 2025 path on both fronts is covered elsewhere): every Inspector run costs a Node start.
describe("--protocol-era legacy (2025-11-25, the control)", () => {
  test("HTTP front: lists and calls tools of a 2025 backend and of a 2026-07-28 one", () => listAndCall("legacy", "http"), 30_000);
});

describe("--protocol-era modern (2026-07-28)", () => {
  test("stdio front: lists and calls tools of a 2025 backend and of a 2026-07-28 one", () => listAndCall("modern", "stdio"), 30_000);
  test("HTTP front: lists and calls tools of a 2025 backend and of a 2026-07-28 one", () => listAndCall("modern", "http"), 30_000);
});
