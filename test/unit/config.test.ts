import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig, type Config, type RemoteBackendConfig, type StdioBackendConfig } from "../../src/config/load.ts";
import { ConfigError } from "../../src/errors.ts";
import { scrub } from "../../src/log.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sentinel-config-test-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const SOURCE = "/etc/sentinel/sentinel.yaml";

function issuesOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error("expected a ConfigError");
}

function backend(c: Config, name: string) {
  const b = c.backends.find((x) => x.name === name);
  if (!b) throw new Error(`no backend ${name}`);
  return b;
}
const stdio = (c: Config, name: string) => backend(c, name) as StdioBackendConfig;
const remote = (c: Config, name: string) => backend(c, name) as RemoteBackendConfig;

describe("parseConfig: formats", () => {
  test("YAML with stdio and http backends", () => {
    const c = parseConfig(
      `
server:
  name: test-gw
backends:
  files:
    command: npx
    args: ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
    env:
      DEBUG: "1"
  remote:
    url: https://example.com/mcp
    headers:
      X-Team: blue
`,
      SOURCE,
      {},
    );
    expect(c.source).toBe(SOURCE);
    expect(c.server.name).toBe("test-gw");
    expect(c.backends.map((b) => b.name)).toEqual(["files", "remote"]);
    const f = stdio(c, "files");
    expect(f.transport).toBe("stdio");
    expect(f.command).toBe("npx");
    expect(f.args).toEqual(["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]);
    expect(f.env).toEqual({ DEBUG: "1" });
    const r = remote(c, "remote");
    expect(r.transport).toBe("http");
    expect(r.url).toBe("https://example.com/mcp");
    expect(r.headers).toEqual({ "X-Team": "blue" });
  });

  test("empty text gives the defaults", () => {
    const c = parseConfig("", SOURCE, { XDG_DATA_HOME: "/xdg" });
    expect(c.backends).toEqual([]);
    expect(c.limits.client.messageBytes).toBe(4 * 1024 * 1024);
    expect(c.limits.backend.messageBytes).toBe(64 * 1024 * 1024);
    expect(c.names).toEqual({ separator: "__", maxLength: 48 });
    expect(c.http.host).toBe("127.0.0.1");
    expect(c.identity.anonymous).toBeNull();
    expect(c.audit.path).toBe("/xdg/sentinel/audit.db");
  });

  test("Claude Code .mcp.json shape (mcpServers) from a .json source", () => {
    const json = JSON.stringify({
      mcpServers: {
        fs: { command: "node", args: ["server.js", "--root", "."], env: { LOG: "debug" } },
        typed: { type: "stdio", command: "uvx", args: ["mcp-server-git"] },
        api: { type: "http", url: "https://api.example.com/mcp", headers: { "X-Key": "abc" } },
        legacy: { type: "sse", url: "http://localhost:9000/sse" },
      },
    });
    const c = parseConfig(json, "/proj/.mcp.json", {});
    expect(c.backends.map((b) => b.name).sort()).toEqual(["api", "fs", "legacy", "typed"]);
    const fs = stdio(c, "fs");
    expect(fs.transport).toBe("stdio");
    expect(fs.command).toBe("node");
    expect(fs.args).toEqual(["server.js", "--root", "."]);
    expect(fs.env).toEqual({ LOG: "debug" });
    expect(stdio(c, "typed").transport).toBe("stdio");
    const api = remote(c, "api");
    expect(api.transport).toBe("http");
    expect(api.url).toBe("https://api.example.com/mcp");
    expect(api.headers).toEqual({ "X-Key": "abc" });
    expect(remote(c, "legacy").transport).toBe("sse");
  });

  test("a .json source is parsed as JSON, not YAML", () => {
    // Valid YAML, invalid JSON.
    const issues = issuesOf(() => parseConfig("backends: {}\n", "/x/conf.json", {}));
    expect(issues.length).toBe(1);
    expect(issues[0]).toContain("/x/conf.json");
  });

  test("unparseable YAML is one issue naming the source", () => {
    const issues = issuesOf(() => parseConfig("backends: [unclosed\n  - : :", SOURCE, {}));
    expect(issues.length).toBe(1);
    expect(issues[0]).toContain(SOURCE);
  });

  test("a backend that is neither stdio nor http is refused", () => {
    const issues = issuesOf(() => parseConfig("backends:\n  odd:\n    args: [x]\n", SOURCE, {}));
    expect(issues).toEqual([expect.stringContaining("backends.odd")]);
  });

  test("a name in both backends and mcpServers is refused", () => {
    const issues = issuesOf(() =>
      parseConfig(
        "backends:\n  dup:\n    command: a\n    prefix: one\nmcpServers:\n  dup:\n    command: b\n    prefix: two\n",
        SOURCE,
        {},
      ),
    );
    expect(issues.some((i) => i.includes("dup") && i.includes("twice"))).toBe(true);
  });
});

describe("parseConfig: secret references", () => {
  test("${env:NAME} inside a larger string", () => {
    const c = parseConfig(
      `backends:\n  api:\n    url: https://\${env:HOST}/mcp\n    headers:\n      Authorization: "Bearer \${env:TOK}"\n`,
      SOURCE,
      { HOST: "mcp.example.org", TOK: "tok-abc-123456" },
    );
    const api = remote(c, "api");
    expect(api.url).toBe("https://mcp.example.org/mcp");
    expect(api.headers.Authorization).toBe("Bearer tok-abc-123456");
  });

  test("${env:X} unset is a ConfigError naming X and the path", () => {
    const issues = issuesOf(() =>
      parseConfig(
        `backends:\n  api:\n    url: https://example.com/mcp\n    headers:\n      Authorization: "Bearer \${env:MISSING_TOKEN_X}"\n`,
        SOURCE,
        {},
      ),
    );
    const hit = issues.find((i) => i.includes("MISSING_TOKEN_X"));
    expect(hit).toBeDefined();
    expect(hit).toContain("backends.api.headers.Authorization");
  });

  test("unset env inside an array and in mcpServers names the full path", () => {
    const issues = issuesOf(() =>
      parseConfig(
        JSON.stringify({ mcpServers: { s: { command: "x", args: ["--key", "${env:ARG_SECRET}"] } } }),
        "/p/.mcp.json",
        {},
      ),
    );
    const hit = issues.find((i) => i.includes("ARG_SECRET"));
    expect(hit).toStartWith("mcpServers.s.args.1");
  });

  test("${file:/path} reads the file and strips one trailing newline", () => {
    const secretFile = join(dir, "token.txt");
    writeFileSync(secretFile, "file-secret-998877\n");
    const c = parseConfig(
      `backends:\n  api:\n    url: https://example.com/mcp\n    headers:\n      X-Token: "\${file:${secretFile}}"\n`,
      SOURCE,
      {},
    );
    expect(remote(c, "api").headers["X-Token"]).toBe("file-secret-998877");
  });

  test("${file:...} with CRLF keeps inner content", () => {
    const secretFile = join(dir, "crlf.txt");
    writeFileSync(secretFile, "line-one-secret\r\n");
    const c = parseConfig(`backends:\n  s:\n    command: x\n    env:\n      K: "\${file:${secretFile}}"\n`, SOURCE, {});
    expect(stdio(c, "s").env.K).toBe("line-one-secret");
  });

  test("a missing ${file:...} is a ConfigError naming the file and the path", () => {
    const missing = join(dir, "does-not-exist.txt");
    const issues = issuesOf(() =>
      parseConfig(`backends:\n  s:\n    command: x\n    env:\n      K: "\${file:${missing}}"\n`, SOURCE, {}),
    );
    const hit = issues.find((i) => i.includes(missing));
    expect(hit).toBeDefined();
    expect(hit).toContain("backends.s.env.K");
  });

  test("resolved secret values are registered with the log scrubber", () => {
    const envSecret = "env-secret-" + crypto.randomUUID();
    const fileSecret = "file-secret-" + crypto.randomUUID();
    const secretFile = join(dir, "scrub.txt");
    writeFileSync(secretFile, fileSecret + "\n");
    expect(scrub(`a ${envSecret} b`)).toBe(`a ${envSecret} b`);
    parseConfig(
      `backends:\n  s:\n    command: x\n    env:\n      A: "\${env:SCRUB_ME}"\n      B: "\${file:${secretFile}}"\n`,
      SOURCE,
      { SCRUB_ME: envSecret },
    );
    const masked = scrub(`auth ${envSecret} and ${fileSecret}!`);
    expect(masked).not.toContain(envSecret);
    expect(masked).not.toContain(fileSecret);
    expect(masked).toContain("[REDACTED]");
    expect(masked).toStartWith("auth ");
    expect(masked).toEndWith("!");
  });

  // Validators echo the value they received, which may be a resolved secret.
  test("a resolved secret never appears in ConfigError issues", () => {
    const secret = "leaky-" + crypto.randomUUID();
    const issues = issuesOf(() => parseConfig(`server:\n  logLevel: "\${env:LVL}"\n`, SOURCE, { LVL: secret }));
    expect(issues.length).toBe(1);
    expect(issues[0]).toStartWith("server.logLevel:");
    expect(issues.join("\n")).not.toContain(secret);
  });

  test("plain strings without references are not registered as secrets", () => {
    const plain = "plain-value-" + crypto.randomUUID();
    parseConfig(`backends:\n  s:\n    command: x\n    env:\n      A: "${plain}"\n`, SOURCE, {});
    expect(scrub(plain)).toBe(plain);
  });
});

describe("parseConfig: validation", () => {
  test("all problems are listed at once, each with its dotted path", () => {
    const issues = issuesOf(() =>
      parseConfig(
        `
server:
  timeout: soon
backends:
  web:
    url: not-a-url
  files:
    command: ls
    colour: blue
  "bad name!":
    command: x
`,
        SOURCE,
        {},
      ),
    );
    expect(issues.length).toBe(4);
    expect(issues.some((i) => i.startsWith("server.timeout:"))).toBe(true);
    expect(issues.some((i) => i.startsWith("backends.web.url:"))).toBe(true);
    expect(issues.some((i) => i.startsWith("backends.files.colour:") && i.includes("unknown key"))).toBe(true);
    expect(issues.some((i) => i.startsWith("backends.bad name!:"))).toBe(true);
  });

  test("top-level unknown key and backend problems are reported together", () => {
    const issues = issuesOf(() =>
      parseConfig("servr:\n  name: x\nbackends:\n  web:\n    url: nope\n", SOURCE, {}),
    );
    expect(issues.some((i) => i.startsWith("servr:") && i.includes("unknown key"))).toBe(true);
    expect(issues.some((i) => i.startsWith("backends.web.url:"))).toBe(true);
  });

  // Problems are reported under the section the entry came from.
  test("validation issues for mcpServers entries carry the mcpServers path", () => {
    const issues = issuesOf(() => parseConfig(JSON.stringify({ mcpServers: { web: { url: "nope" } } }), "/p/.mcp.json", {}));
    expect(issues).toEqual([expect.stringMatching(/^mcpServers\.web\.url:/)]);
  });

  test("durations: strings with units and plain milliseconds", () => {
    const c = parseConfig(
      `
server:
  timeout: 60s
  startupTimeout: 500ms
  shutdownTimeout: 5000
http:
  sessionIdleTimeout: 2m
backends:
  a:
    command: x
    timeout: 1.5s
    restart:
      initialDelay: 250ms
      maxDelay: 1h
`,
      SOURCE,
      {},
    );
    expect(c.server.startupTimeoutMs).toBe(500);
    expect(c.server.shutdownTimeoutMs).toBe(5000);
    expect(c.http.sessionIdleMs).toBe(120_000);
    const a = backend(c, "a");
    expect(a.timeoutMs).toBe(1500);
    expect(a.restart).toEqual({ initialDelayMs: 250, maxDelayMs: 3_600_000 });
  });

  test.each(["5 parsecs", "-5s", "s", "1e3ms"])("bad duration %p is refused", (d) => {
    const issues = issuesOf(() => parseConfig(`server:\n  timeout: "${d}"\n`, SOURCE, {}));
    expect(issues).toEqual([expect.stringMatching(/^server\.timeout:/)]);
  });

  test("a negative number of milliseconds is refused", () => {
    const issues = issuesOf(() => parseConfig("server:\n  timeout: -1\n", SOURCE, {}));
    expect(issues).toEqual([expect.stringMatching(/^server\.timeout:/)]);
  });

  test("per-backend timeout defaults to server.timeout", () => {
    const c = parseConfig(
      "server:\n  timeout: 7s\nbackends:\n  a:\n    command: x\n  b:\n    command: y\n    timeout: 3s\n",
      SOURCE,
      {},
    );
    expect(backend(c, "a").timeoutMs).toBe(7000);
    expect(backend(c, "b").timeoutMs).toBe(3000);
  });

  test("without server.timeout the default is 60 s", () => {
    const c = parseConfig("backends:\n  a:\n    command: x\n", SOURCE, {});
    expect(backend(c, "a").timeoutMs).toBe(60_000);
  });
});

describe("parseConfig: prefixes", () => {
  test("default prefix is <name>__, custom prefix gets the separator, empty prefix is empty", () => {
    const c = parseConfig(
      "backends:\n  github:\n    command: x\n  fs:\n    command: y\n    prefix: files\n  solo:\n    command: z\n    prefix: ''\n",
      SOURCE,
      {},
    );
    expect(backend(c, "github").prefix).toBe("github__");
    expect(backend(c, "fs").prefix).toBe("files__");
    expect(backend(c, "solo").prefix).toBe("");
  });

  test("a custom separator is used", () => {
    const c = parseConfig("names:\n  separator: '-'\nbackends:\n  gh:\n    command: x\n", SOURCE, {});
    expect(backend(c, "gh").prefix).toBe("gh-");
  });

  test("a duplicate prefix between two backends is refused", () => {
    const issues = issuesOf(() =>
      parseConfig("backends:\n  a:\n    command: x\n    prefix: shared\n  b:\n    command: y\n    prefix: shared\n", SOURCE, {}),
    );
    expect(issues.length).toBe(1);
    expect(issues[0]).toStartWith("backends.b.prefix:");
    expect(issues[0]).toContain("a");
  });

  test("a custom prefix equal to another backend's default prefix is refused", () => {
    const issues = issuesOf(() =>
      parseConfig("backends:\n  gh:\n    command: x\n  other:\n    command: y\n    prefix: gh\n", SOURCE, {}),
    );
    expect(issues).toEqual([expect.stringMatching(/^backends\.other\.prefix:/)]);
  });

  test("a disabled backend may share a prefix", () => {
    const c = parseConfig(
      "backends:\n  a:\n    command: x\n    prefix: p\n  b:\n    command: y\n    prefix: p\n    disabled: true\n",
      SOURCE,
      {},
    );
    expect(backend(c, "b").disabled).toBe(true);
  });

  test("a prefix with invalid characters is refused", () => {
    const issues = issuesOf(() => parseConfig("backends:\n  a:\n    command: x\n    prefix: 'a.b'\n", SOURCE, {}));
    expect(issues).toEqual([expect.stringMatching(/^backends\.a\.prefix:/)]);
  });
});

describe("parseConfig: paths", () => {
  test("relative cwd and audit.path resolve against the config file's directory", () => {
    const c = parseConfig(
      "audit:\n  path: data/audit.db\nbackends:\n  a:\n    command: x\n    cwd: ./work\n  b:\n    command: y\n    cwd: /abs/dir\n",
      "/srv/conf/sentinel.yaml",
      {},
    );
    expect(c.audit.path).toBe("/srv/conf/data/audit.db");
    expect(stdio(c, "a").cwd).toBe("/srv/conf/work");
    expect(stdio(c, "b").cwd).toBe("/abs/dir");
  });

  test("no cwd means no cwd key", () => {
    const c = parseConfig("backends:\n  a:\n    command: x\n", SOURCE, {});
    expect("cwd" in stdio(c, "a")).toBe(false);
  });

  test("identity.local.sub defaults to $USER", () => {
    const c = parseConfig("", SOURCE, { USER: "alice" });
    expect(c.identity.local?.sub).toBe("alice");
  });

  test("with auth configured and no identity.local, stdio needs a token (local is null)", () => {
    const secret = "s".repeat(32);
    const c = parseConfig(`auth:\n  jwt: { secret: "${secret}" }\n`, SOURCE, { USER: "alice" });
    expect(c.identity.local).toBeNull();
    const d = parseConfig(`auth:\n  jwt: { secret: "${secret}" }\nidentity:\n  local: { sub: me, roles: [dev] }\n`, SOURCE, {});
    expect(d.identity.local).toEqual({ sub: "me", roles: ["dev"] });
  });
});
