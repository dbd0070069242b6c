// The command line: help and version, config checking with every problem
// listed, secrets kept out of output, and name shortening shown by `tools`.

import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connectStdio, runCli, stdioFixture, tempDir, textOf, writeConfig } from "./harness.ts";

describe("help and version", () => {
  test("--version prints the package version", async () => {
    const pkg = await Bun.file(join(import.meta.dir, "../../package.json")).json();
    const { code, stdout } = await runCli(["--version"]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(pkg.version);
  });

  test("--help lists every subcommand, and each has its own help", async () => {
    const { code, stdout } = await runCli(["--help"]);
    expect(code).toBe(0);
    for (const cmd of ["serve", "check", "tools", "audit"]) {
      expect(stdout).toContain(`sentinel ${cmd}`);
      const sub = await runCli([cmd, "--help"]);
      expect(sub.code).toBe(0);
      expect(sub.stdout).toContain(`Usage: sentinel`);
    }
  });

  test("an unknown command or flag is a usage error", async () => {
    expect((await runCli(["frobnicate"])).code).toBe(64);
    const bad = await runCli(["check", "--bogus"]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain("--bogus");
  });
});

describe("sentinel check", () => {
  test("a broken config is refused with exit 2 and every problem listed with its path", async () => {
    const dir = tempDir();
    const path = join(dir, "broken.yaml");
    writeFileSync(
      path,
      [
        "server: { timeout: soon, colour: blue }",
        "http: { port: 99999 }",
        "backends:",
        "  n8n: { url: not-a-url }",
        "  fs: { command: npx, args: [1, 2] }",
        "  odd: { neither: true }",
      ].join("\n"),
    );
    const { code, stderr } = await runCli(["check", "--config", path]);
    expect(code).toBe(2);
    for (const problem of [
      "server.timeout: expected a duration",
      "server.colour: unknown key",
      "http.port:",
      "backends.n8n.url: expected a URL",
      "backends.fs.args.0: expected a string",
      'backends.odd: expected either "command"',
    ]) {
      expect(stderr).toContain(problem);
    }
  });

  test("${env:X} with X unset is refused, naming X; when set, its value never reaches output", async () => {
    const dir = tempDir();
    const path = join(dir, "sentinel.yaml");
    writeFileSync(path, 'backends:\n  n8n:\n    url: "http://127.0.0.1:1/mcp?key=${env:N8N_KEY}"\n    headers: { Authorization: "Bearer ${env:N8N_TOKEN}" }\n');
    const missing = await runCli(["check", "--config", path], { N8N_TOKEN: "tok-123456" });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("backends.n8n.url: environment variable N8N_KEY is not set");
    expect(missing.stderr).not.toContain("N8N_TOKEN");

    const ok = await runCli(["check", "--config", path], { N8N_TOKEN: "tok-123456", N8N_KEY: "key-abcdef" });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("n8n");
    expect(ok.stdout + ok.stderr).not.toContain("key-abcdef");
    expect(ok.stdout).toContain("[REDACTED]");
  });

  test("a .env file in the working directory is not loaded (config comes only from --config)", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, ".env"), "STRAY_SECRET=from-dotenv\n");
    writeFileSync(join(dir, "s.yaml"), 'backends:\n  x: { url: "http://127.0.0.1:1/${env:STRAY_SECRET}" }\n');
    const { code, stderr } = await runCli(["check", "--config", "s.yaml"], {}, dir);
    expect(code).toBe(2);
    expect(stderr).toContain("STRAY_SECRET is not set");
  });

  test("a missing file is a clear error", async () => {
    const { code, stderr } = await runCli(["check", "--config", "/nonexistent/sentinel.yaml"]);
    expect(code).toBe(2);
    expect(stderr).toContain("file not found");
  });

  test("a Claude Code .mcp.json is accepted as it is", async () => {
    const dir = tempDir();
    const path = join(dir, ".mcp.json");
    writeFileSync(path, JSON.stringify({ mcpServers: { ctx: { command: "npx", args: ["-y", "x"] }, web: { type: "http", url: "https://example.com/mcp" } } }));
    const { code, stdout } = await runCli(["check", "--config", path]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/ctx\s+stdio/);
    expect(stdout).toMatch(/web\s+http/);
  });
});

describe("names that would be too long for Claude", () => {
  const longName = "a_backend_with_a_rather_long_descriptive_name";

  test("are shortened deterministically, shown by `sentinel tools`, and still route", async () => {
    const configPath = writeConfig(tempDir(), { backends: { [longName]: stdioFixture("long") } });
    const listed = await runCli(["tools", "--config", configPath, "--json"]);
    expect(listed.code).toBe(0);
    const { entries } = JSON.parse(listed.stdout) as { entries: { exposed: string; backend: string; name: string }[] };
    const whoami = entries.find((e) => e.name === "whoami")!;
    expect(whoami.exposed.length).toBeLessThanOrEqual(48);
    expect(whoami.exposed).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(whoami.exposed).not.toBe(`${longName}__whoami`);

    const again = JSON.parse((await runCli(["tools", "--config", configPath, "--json"])).stdout);
    expect(again.entries.find((e: { name: string }) => e.name === "whoami").exposed).toBe(whoami.exposed);

    const table = await runCli(["tools", "--config", configPath]);
    expect(table.stdout).toContain(`${whoami.exposed}`);
    expect(table.stdout).toContain("(renamed)");

    const gw = await connectStdio(configPath);
    try {
      expect(textOf(await gw.client.callTool({ name: whoami.exposed, arguments: {} }))).toBe("long");
    } finally {
      await gw.close();
    }
  });
});

describe("the embedded demo", () => {
  test("`--demo` fronts the bundled example backend, offline, and audits to the data dir", async () => {
    const data = tempDir();
    const gw = await connectStdio({ args: ["--demo"] }, { XDG_DATA_HOME: data });
    try {
      const { tools } = await gw.client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(["demo__echo", "demo__add", "demo__add_note", "demo__list_notes"]));
      expect(textOf(await gw.client.callTool({ name: "demo__add", arguments: { a: 20, b: 22 } }))).toBe("42");
      const about = await gw.client.readResource({ uri: "demo://about" });
      expect(about.contents[0]).toHaveProperty("text");
    } finally {
      await gw.close();
    }
    const { code, stdout } = await runCli(["audit", "--json"], { XDG_DATA_HOME: data });
    expect(code).toBe(0);
    expect(stdout).toContain('"target":"demo__add"');
  });
});
