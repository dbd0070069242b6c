// `sentinel import [FILE]`: turns the MCP servers of Claude Code (~/.claude.json:
// user and local scopes; a project's .mcp.json) or Claude Desktop
// (claude_desktop_config.json) into a Sentinel config, and says which
// `claude mcp` lines replace them. Secrets are never copied: they become
// ${env:NAME} references that Sentinel resolves from its own environment.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { EXIT_CONFIG } from "./load.ts";
import { parseFlags, UsageError } from "./args.ts";
import { writeStderr } from "../log.ts";

export const importHelp = `Usage: sentinel import [FILE] [--out FILE] [--dry-run]

Writes a Sentinel config (default: ./sentinel.yaml) with the MCP servers of Claude Code or
Claude Desktop as its backends, then prints the "claude mcp" lines that switch over to it.
  FILE        ~/.claude.json, a project's .mcp.json or claude_desktop_config.json; without it:
              $CLAUDE_CONFIG_DIR/.claude.json or ~/.claude.json (user scope, and the local scope
              of the current directory), ./.mcp.json, and Claude Desktop's config
  --out F     where to write the config (never overwritten)
  --dry-run   print the config instead of writing it
Env values and headers that look like secrets become \${env:NAME} references: set NAME where
Sentinel runs; their values are not written anywhere.`;

type Scope = "local" | "project" | "user" | "desktop";
type Source = { file: string; scope: Scope; project?: string; servers: Record<string, unknown> };
type Secret = { name: string; where: string };
type Server = { name: string; source: Source; lines: string[]; secrets: Secret[] };

export async function importConfig(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, { out: { type: "string", short: "o" }, "dry-run": { type: "boolean" } });
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const env = process.env;
  const cwd = process.cwd();
  const sources = positionals[0] ? readSources(resolve(positionals[0]), cwd) : findSources(env, cwd);
  if (sources.every((s) => Object.keys(s.servers).length === 0)) {
    const where = positionals[0] ?? "Claude Code's or Claude Desktop's config (none found)";
    writeStderr(`sentinel: no MCP servers in ${where}\n`);
    process.exit(EXIT_CONFIG);
  }

  const out = resolve(values.out ?? "sentinel.yaml");
  const { text, servers, skipped } = render(sources);
  const dry = values["dry-run"] === true;
  if (!dry) {
    if (existsSync(out)) {
      writeStderr(`sentinel: ${out} exists; not overwritten (pass --out FILE)\n`);
      process.exit(EXIT_CONFIG);
    }
    writeFileSync(out, text, { mode: 0o600 });
  }
  // With --dry-run the config goes to stdout, so that it can be redirected; the advice to stderr.
  const say = dry ? (s: string) => writeStderr(s) : (s: string) => process.stdout.write(s);
  if (dry) process.stdout.write(text);
  say(advice(out, servers, skipped, dry));
}

/** The sources one named file holds. */
function readSources(file: string, cwd: string): Source[] {
  const json = readJson(file);
  if (json === undefined) throw new UsageError(`cannot read ${file} as JSON`);
  if (basename(file) === "claude_desktop_config.json") return [{ file, scope: "desktop", servers: objectAt(json, "mcpServers") }];
  if (basename(file) === ".mcp.json") return [{ file, scope: "project", servers: objectAt(json, "mcpServers") }];
  if ("projects" in json || basename(file) === ".claude.json") return claudeJson(file, json, cwd);
  return [{ file, scope: "project", servers: objectAt(json, "mcpServers") }];
}

/** Where Claude Code and Claude Desktop keep them, in Claude Code's order of precedence (local, project, user). */
function findSources(env: NodeJS.ProcessEnv, cwd: string): Source[] {
  const home = env.HOME ?? env.USERPROFILE ?? "/";
  const out: Source[] = [];
  const global = join(env.CLAUDE_CONFIG_DIR ?? home, ".claude.json");
  const json = readJson(global);
  const [user, ...local] = json ? claudeJson(global, json, cwd) : [];
  out.push(...local);
  const project = readJson(join(cwd, ".mcp.json"));
  if (project) out.push({ file: join(cwd, ".mcp.json"), scope: "project", servers: objectAt(project, "mcpServers") });
  if (user) out.push(user);
  const desktop = [
    join(home, "Library/Application Support/Claude/claude_desktop_config.json"),
    join(env.XDG_CONFIG_HOME ?? join(home, ".config"), "Claude/claude_desktop_config.json"),
    ...(env.APPDATA ? [join(env.APPDATA, "Claude/claude_desktop_config.json")] : []),
  ].find(existsSync);
  const d = desktop && readJson(desktop);
  if (desktop && d) out.push({ file: desktop, scope: "desktop", servers: objectAt(d, "mcpServers") });
  return out;
}

/** ~/.claude.json: the user scope (top-level mcpServers), then the local scope of the working directory. */
function claudeJson(file: string, json: Record<string, unknown>, cwd: string): Source[] {
  const sources: Source[] = [{ file, scope: "user", servers: objectAt(json, "mcpServers") }];
  const project = objectAt(json, "projects")[cwd];
  if (isObject(project)) sources.push({ file, scope: "local", project: cwd, servers: objectAt(project, "mcpServers") });
  return sources;
}

function render(sources: Source[]): { text: string; servers: Server[]; skipped: string[] } {
  const servers: Server[] = [];
  const skipped: string[] = [];
  const taken = new Map<string, string>(); // env name -> the value it stands for
  for (const source of sources) {
    for (const [original, def] of Object.entries(source.servers)) {
      const name = original.replace(/[^a-zA-Z0-9_-]/g, "-");
      if (servers.some((s) => s.name === name)) {
        skipped.push(`${original} (${where(source)}): a server of that name is already imported (Claude Code prefers the first)`);
        continue;
      }
      const server = convert(name, original, def, source, taken);
      if (typeof server === "string") skipped.push(`${original} (${where(source)}): ${server}`);
      else servers.push(server);
    }
  }
  const files = [...new Set(sources.filter((s) => Object.keys(s.servers).length > 0).map((s) => s.file))];
  const head = [
    "# Sentinel config written by `sentinel import` from:",
    ...files.map((f) => `#   ${f}`),
    "# Check it with `sentinel check --config FILE`. Not set here, so Sentinel's defaults hold:",
    "# HTTP on 127.0.0.1 only, no unauthenticated HTTP access, changed tool definitions",
    "# withheld until approved (pinning: block), every call in the audit trail.",
    "# Tool names become <backend>__<tool> (names.separator).",
  ];
  const body = servers.length > 0 ? ["backends:", ...servers.flatMap((s) => s.lines)] : ["backends: {}"];
  const notes = skipped.length > 0 ? ["", "# Not imported:", ...skipped.map((s) => `#   ${s}`)] : [];
  return { text: [...head, ...body, ...notes, ""].join("\n"), servers, skipped };
}

/** One server as a backend entry's YAML lines, or why it cannot be one. */
function convert(name: string, original: string, def: unknown, source: Source, taken: Map<string, string>): Server | string {
  if (!isObject(def)) return "not an object";
  const type = typeof def.type === "string" ? def.type : def.url !== undefined ? "http" : "stdio";
  const secrets: Secret[] = [];
  const lines = [`  # ${original === name ? "" : `"${original}" `}from ${where(source)}`, `  ${key(name)}:`];
  const envName = (base: string, value: string) => {
    let n = base.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
    if (taken.has(n) && taken.get(n) !== value) n = `${name.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}_${n}`;
    taken.set(n, value);
    return n;
  };
  /** A value as written: Claude's ${VAR} becomes ${env:VAR}; a secret becomes a reference to an env name. */
  const value = (text: string, secretName: string | null, label: string): [string, string] => {
    const converted = claudeReferences(text);
    if (converted !== text || !secretName) return [converted, converted === text ? "" : /\$\{[^}]*:-/.test(text) ? "was a Claude Code ${VAR:-default}: no default here" : "was a Claude Code ${VAR}"];
    const scheme = /^(Bearer|Basic|Token)\s+/i.exec(text)?.[0] ?? "";
    const n = envName(secretName, text);
    secrets.push({ name: n, where: `${name} ${label}` });
    return [`${scheme}\${env:${n}}`, `secret: set ${n} in Sentinel's environment (not copied)`];
  };
  const map = (field: string, entries: Record<string, unknown>, secretName: (k: string, v: string) => string | null) => {
    const pairs = Object.entries(entries).filter((e): e is [string, string] => typeof e[1] === "string");
    if (pairs.length === 0) return;
    lines.push(`    ${field}:`);
    for (const [k, v] of pairs) {
      const [text, note] = value(v, secretName(k, v), `${field}.${k}`);
      lines.push(`      ${key(k)}: ${scalar(text)}${note ? `   # ${note}` : ""}`);
    }
  };

  if (type === "stdio") {
    if (typeof def.command !== "string" || def.command === "") return "no command";
    lines.push(`    command: ${scalar(def.command)}`);
    const args = Array.isArray(def.args) ? def.args.filter((a): a is string => typeof a === "string") : [];
    if (args.length > 0) {
      lines.push("    args:");
      args.forEach((a, i) => {
        const [text, note] = value(a, looksLikeToken(a) ? `${name}_ARG_${i + 1}` : null, `args[${i}]`);
        lines.push(`      - ${scalar(text)}${note ? `   # ${note}` : ""}`);
      });
    }
    map("env", objectAt(def, "env"), (k, v) => (isSecretName(k) || looksLikeToken(v) ? k : null));
    if (typeof def.cwd === "string") lines.push(`    cwd: ${scalar(def.cwd)}`);
  } else if (type === "http" || type === "sse" || type === "streamable-http") {
    if (typeof def.url !== "string") return "no url";
    const [url, note] = value(def.url, null, "url");
    lines.push(`    url: ${scalar(url)}${note ? `   # ${note}` : ""}`);
    if (type === "sse") lines.push("    type: sse");
    map("headers", objectAt(def, "headers"), (k, v) => (isSecretName(k) || looksLikeToken(v) ? `${name}_${k}` : null));
  } else return `transport "${type}" is not supported`;
  const dropped = Object.keys(def).filter((k) => !["type", "command", "args", "env", "cwd", "url", "headers"].includes(k));
  if (dropped.length > 0) lines.push(`    # not carried over: ${dropped.join(", ")}`);
  return { name, source, lines, secrets };
}

function advice(out: string, servers: Server[], skipped: string[], dry: boolean): string {
  const secrets = servers.flatMap((s) => s.secrets);
  const lines = [
    dry ? `(dry run: ${out} not written)` : `Wrote ${out}: ${servers.length} backend(s).`,
    ...(skipped.length > 0 ? [`Not imported: ${skipped.length} server(s), listed at the end of the config.`] : []),
    ...(secrets.length > 0
      ? ["", "Secrets were left out. Set these where Sentinel runs (the values are in the old Claude config):", ...secrets.map((s) => `  ${s.name}   (${s.where})`)]
      : []),
    "",
    "Check it, then switch Claude Code over:",
    `  sentinel check --config ${out}`,
    `  claude mcp add sentinel${servers.some((s) => s.source.scope === "user") ? " -s user" : ""} -- sentinel --config ${out}`,
    ...servers.map((s) => removal(s)),
    "",
  ];
  return lines.join("\n");
}

function removal(s: Server): string {
  const name = shellWord(Object.entries(s.source.servers).find(([k]) => k.replace(/[^a-zA-Z0-9_-]/g, "-") === s.name)?.[0] ?? s.name);
  if (s.source.scope === "desktop") return `  # remove "${s.name}" from ${s.source.file} (Claude Desktop)`;
  const command = `claude mcp remove ${name} -s ${s.source.scope}`;
  if (s.source.scope === "user") return `  ${command}`;
  // Local and project scopes belong to a directory: claude edits the one it runs in.
  const dir = s.source.project ?? dirname(s.source.file);
  return dir === process.cwd() ? `  ${command}` : `  (cd ${shellWord(dir)} && ${command})`;
}

function where(s: Source): string {
  if (s.scope === "desktop") return `${s.file} (Claude Desktop)`;
  return s.scope === "local" ? `${s.file}, local scope of ${s.project}` : `${s.file}, ${s.scope} scope`;
}

const SECRET_NAME = /TOKEN|KEY|SECRET|PASSWORD|PASSWD|AUTH|CREDENTIAL|COOKIE/i;
const TOKEN_PREFIX = /^(gh[pousr]_|github_pat_|glpat-|sk-|sk_|pk_|rk_|xox[abposr]-|AKIA|ASIA|AIza|eyJ|npm_|hf_|dop_v1_)/;

function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** A known token prefix, a scheme and credential, or a long run of letters and digits mixed. */
function looksLikeToken(value: string): boolean {
  const v = value.trim();
  if (/^(Bearer|Basic|Token)\s+\S+$/i.test(v)) return true;
  if (TOKEN_PREFIX.test(v) && v.length >= 12) return true;
  return /^[A-Za-z0-9_\-+=.]{24,}$/.test(v) && /[A-Za-z]/.test(v) && /\d/.test(v);
}

/** Claude Code expands ${VAR} and ${VAR:-default}; Sentinel's reference is ${env:VAR} (no default). */
function claudeReferences(text: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g, (_, name: string) => `\${env:${name}}`);
}

/** A plain YAML scalar when it is unambiguous, else a JSON string (valid YAML). */
function scalar(text: string): string {
  // Not "@", "~" or "+" first: YAML reserves or reads them.
  const plain = /^[A-Za-z0-9_./-][A-Za-z0-9_./@~+:=-]*$/.test(text) && !/^(true|false|null|yes|no|on|off|~)$/i.test(text);
  return plain && !/^[-+.]?\d/.test(text) && !text.includes(": ") ? text : JSON.stringify(text);
}

function key(text: string): string {
  return /^[A-Za-z0-9_-]+$/.test(text) && !/^(true|false|null|yes|no|on|off)$/i.test(text) ? text : JSON.stringify(text);
}

function shellWord(text: string): string {
  return /^[A-Za-z0-9_./@:=+-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(readFileSync(file, "utf8"));
    return isObject(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

function objectAt(x: Record<string, unknown>, k: string): Record<string, unknown> {
  const v = x[k];
  return isObject(v) ? v : {};
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
