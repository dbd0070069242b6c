// The getting-started commands of the compiled binary: `sentinel schema`,
// `sentinel init`, and `sentinel import` on config files that real Claude Code
// (the pinned devDependency, offline, in a throwaway HOME) wrote with
// `claude mcp add`; the imported config is checked and served, and its tools
// listed through the gateway.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { configJsonSchema } from "../../src/config/json-schema.ts";
import { BUN, FIXTURE, NODE, ROOT, connectStdio, runCli, startFixture, tempDir, type Spawned } from "./harness.ts";

const PKG = join(ROOT, "node_modules/@anthropic-ai/claude-code");

function validator(schema: object) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(schema);
}

describe("sentinel schema", () => {
  test("prints the JSON Schema generated from the config schema", async () => {
    const run = await runCli(["schema"]);
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout);
    expect(printed).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
    expect(printed.$schema).toBe("http://json-schema.org/draft-07/schema#");
  });
});

describe("sentinel init", () => {
  test("writes a starter config that passes check and the schema beside it, and never overwrites", async () => {
    const dir = tempDir();
    const path = join(dir, "conf", "sentinel.yaml");
    const first = await runCli(["init", "--path", path]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`claude mcp add sentinel -- sentinel --config ${path}`);
    const text = readFileSync(path, "utf8");
    expect(text.split("\n")[0]).toBe("# yaml-language-server: $schema=./sentinel.schema.json");
    const schema = JSON.parse(readFileSync(join(dir, "conf", "sentinel.schema.json"), "utf8"));
    const validate = validator(schema);
    expect(validate(Bun.YAML.parse(text)), JSON.stringify(validate.errors)).toBe(true);

    const env = { XDG_DATA_HOME: join(dir, "data") };
    const check = await runCli(["check", "--config", path], env);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    const gw = await connectStdio(path, env);
    try {
      const { tools } = await gw.client.listTools();
      expect(tools.map((t) => t.name)).toContain("demo__echo");
    } finally {
      await gw.close();
    }

    const again = await runCli(["init", "--path", path]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("not overwritten");
    expect(readFileSync(path, "utf8")).toBe(text);
  });
});

describe("sentinel import, on what `claude mcp add` wrote", () => {
  const STDIO_SECRET = "ghp_Sentinel0Test0Secret0123456789abcd";
  const HEADER_SECRET = "sk-sentinel-test-header-0123456789";
  let dir: string;
  let home: string;
  let project: string;
  let web: Spawned;

  /** Claude Code with nothing from the user's environment: throwaway home, no telemetry or updates. */
  async function claude(args: string[]): Promise<{ code: number; out: string }> {
    const exe = join(PKG, "bin/claude.exe");
    if (!existsSync(exe)) throw new Error(`${PKG} is missing: run "npm install" (@anthropic-ai/claude-code is a devDependency)`);
    const command = statSync(exe).size > 64 * 1024 ? [exe] : [NODE, join(PKG, "cli-wrapper.cjs")];
    const proc = Bun.spawn([...command, ...args], {
      cwd: project,
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: home,
        CLAUDE_CONFIG_DIR: join(home, ".claude"),
        XDG_CONFIG_HOME: join(home, ".config"),
        TMPDIR: join(dir, "tmp"),
        DISABLE_AUTOUPDATER: "1",
        DISABLE_TELEMETRY: "1",
        DISABLE_ERROR_REPORTING: "1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
        NO_COLOR: "1",
        TERM: "dumb",
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, out: out + err };
  }

  beforeAll(async () => {
    dir = tempDir();
    home = join(dir, "home");
    project = join(dir, "project");
    for (const d of [home, project, join(dir, "tmp")]) mkdirSync(d, { recursive: true });
    web = await startFixture("web", "http");
    const stdio = await claude(["mcp", "add", "echo", "-e", `GITHUB_TOKEN=${STDIO_SECRET}`, "-e", "LOG_LEVEL=info", "--", BUN, FIXTURE, "--name", "echo"]);
    expect(stdio.code, stdio.out).toBe(0);
    const http = await claude(["mcp", "add", "--transport", "http", "-s", "user", "web", web.url, "-H", `Authorization: Bearer ${HEADER_SECRET}`]);
    expect(http.code, http.out).toBe(0);
  });
  afterAll(async () => {
    await web?.stop();
  });

  test("turns them into a config that checks, serves their tools, and holds no secret", async () => {
    const claudeJson = join(home, ".claude", ".claude.json");
    const out = join(dir, "sentinel.yaml");
    const run = await runCli(["import", claudeJson, "--out", out], {}, project);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`claude mcp add sentinel -s user -- sentinel --config ${out}`);
    expect(run.stdout).toContain("claude mcp remove echo -s local");
    expect(run.stdout).toContain("claude mcp remove web -s user");
    expect(run.stdout).toContain("GITHUB_TOKEN");
    expect(run.stdout).not.toContain(STDIO_SECRET);

    const text = readFileSync(out, "utf8");
    expect(text).not.toContain(STDIO_SECRET);
    expect(text).not.toContain(HEADER_SECRET);
    expect(text).toContain("GITHUB_TOKEN: \"${env:GITHUB_TOKEN}\"");
    expect(text).toContain("Authorization: \"Bearer ${env:WEB_AUTHORIZATION}\"");
    expect(text).toContain("LOG_LEVEL: info");
    expect(validator(configJsonSchema())(Bun.YAML.parse(text))).toBe(true);

    const env = { XDG_DATA_HOME: join(dir, "data"), GITHUB_TOKEN: STDIO_SECRET, WEB_AUTHORIZATION: HEADER_SECRET };
    const check = await runCli(["check", "--config", out], env);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain("OK, 2 backend(s)");

    const gw = await connectStdio(out, env);
    try {
      const names = (await gw.client.listTools()).tools.map((t) => t.name);
      expect(names).toContain("echo__echo");
      expect(names).toContain("web__echo");
      const result = await gw.client.callTool({ name: "web__echo", arguments: { text: "through sentinel" } });
      expect(JSON.stringify(result)).toContain("through sentinel");
    } finally {
      await gw.close();
    }
  });

  test("finds Claude Code's files under HOME, and --dry-run writes nothing", async () => {
    const out = join(dir, "dry.yaml");
    const run = await runCli(["import", "--dry-run", "--out", out], { HOME: home, CLAUDE_CONFIG_DIR: join(home, ".claude") }, project);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(out)).toBe(false);
    const config = Bun.YAML.parse(run.stdout) as { backends: Record<string, unknown> };
    expect(Object.keys(config.backends).sort()).toEqual(["echo", "web"]);
    expect(run.stdout + run.stderr).not.toContain(STDIO_SECRET);
    expect(run.stderr).toContain("claude mcp remove echo -s local");
  });

  test("refuses to overwrite, and says so when there is nothing to import", async () => {
    const existing = join(dir, "sentinel.yaml");
    const again = await runCli(["import", join(home, ".claude", ".claude.json"), "--out", existing], {}, project);
    expect(again.code).toBe(2);
    const empty = tempDir();
    const none = await runCli(["import", "--dry-run"], { HOME: empty, CLAUDE_CONFIG_DIR: empty, XDG_CONFIG_HOME: join(empty, ".config"), APPDATA: "" }, empty);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("no MCP servers");
  });
});

describe("sentinel import, on Claude Desktop's file", () => {
  test("keeps awkward values intact, turns ${VAR} into ${env:VAR}, and token-shaped values into references", async () => {
    const dir = tempDir();
    const file = join(dir, "claude_desktop_config.json");
    const args = ["-y", "@modelcontextprotocol/server-filesystem", "~/Desktop", "yes", "8080", "a: b", 'say "hi"', "#x", "--token", "abcdefghij0123456789ABCDEFGH"];
    writeFileSync(
      file,
      JSON.stringify({
        mcpServers: {
          "my.files": { command: "npx", args, env: { DEBUG: "true", DB_PASSWORD: "hunter2" } },
          api: { type: "sse", url: "https://api.example.com/sse?r=${REGION}", headers: { "X-Api-Key": "${API_KEY:-none}", "X-Team": "blue" } },
          ws: { type: "ws", url: "ws://127.0.0.1:1" },
        },
      }),
    );
    const out = join(dir, "sentinel.yaml");
    const run = await runCli(["import", file, "--out", out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`# remove "my-files" from ${file} (Claude Desktop)`);
    const text = readFileSync(out, "utf8");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("abcdefghij0123456789ABCDEFGH");
    expect(text).toContain('transport "ws" is not supported');
    const config = Bun.YAML.parse(text) as { backends: Record<string, any> };
    expect(Object.keys(config.backends)).toEqual(["my-files", "api"]);
    expect(config.backends["my-files"].args).toEqual([...args.slice(0, -1), "${env:MY_FILES_ARG_10}"]);
    expect(config.backends["my-files"].env).toEqual({ DEBUG: "true", DB_PASSWORD: "${env:DB_PASSWORD}" });
    expect(config.backends.api).toEqual({
      url: "https://api.example.com/sse?r=${env:REGION}",
      type: "sse",
      headers: { "X-Api-Key": "${env:API_KEY}", "X-Team": "blue" },
    });
    const env = { XDG_DATA_HOME: join(dir, "data"), MY_FILES_ARG_10: "t", DB_PASSWORD: "p", REGION: "eu", API_KEY: "k" };
    const check = await runCli(["check", "--config", out], env);
    expect(check.code, check.stderr).toBe(0);
  });
});
