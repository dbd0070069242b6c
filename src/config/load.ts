// The one place that reads config files and the environment. Parses YAML or
// JSON, resolves secret references, validates, and returns plain typed values.
// Every problem is collected and reported together with its path.

import { existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import * as v from "valibot";
import { ConfigError } from "../errors.ts";
import { scrub } from "../log.ts";
import { defaultDataDir, expandHome } from "./paths.ts";
import {
  ConfigSchema,
  NAME_PATTERN,
  RemoteBackendSchema,
  StdioBackendSchema,
  type RawConfig,
} from "./schema.ts";
import { resolveSecrets } from "./secrets.ts";

export type RestartPolicy = { initialDelayMs: number; maxDelayMs: number };

type BackendCommon = {
  name: string;
  /** Text placed before each tool and prompt name, separator included ("" for none). */
  prefix: string;
  timeoutMs: number;
  disabled: boolean;
  restart: RestartPolicy;
  isolation: "shared" | "session";
};

export type StdioBackendConfig = BackendCommon & {
  transport: "stdio";
  command: string;
  args: string[];
  env: Record<string, string>;
  inheritEnv: string[];
  cwd?: string;
};

export type RemoteBackendConfig = BackendCommon & {
  transport: "http" | "sse";
  url: string;
  headers: Record<string, string>;
};

export type BackendConfig = StdioBackendConfig | RemoteBackendConfig;

export type Identity = { sub: string; roles: string[] };

export type Config = {
  source: string;
  server: {
    name: string;
    maxMessageBytes: number;
    startupTimeoutMs: number;
    shutdownTimeoutMs: number;
    pageSize: number;
    logLevel: "debug" | "info" | "warn" | "error";
  };
  http: { host: string; port: number; allowedOrigins: string[]; sessionIdleMs: number };
  names: { separator: string; maxLength: number };
  identity: { local: Identity; anonymous: { roles: string[] } | null };
  audit: { path: string; enabled: boolean; maxArgumentBytes: number };
  backends: BackendConfig[];
};

type Env = Record<string, string | undefined>;

export function readConfigFile(path: string, env: Env = process.env): Config {
  const file = resolve(expandHome(path));
  if (!existsSync(file)) throw new ConfigError([`${path}: file not found`]);
  return parseConfig(readFileSync(file, "utf8"), file, env);
}

/** Parses config text; `source` names it in messages and anchors relative paths. */
export function parseConfig(text: string, source: string, env: Env = process.env): Config {
  let raw: unknown;
  try {
    raw = source.endsWith(".json") ? JSON.parse(text) : Bun.YAML.parse(text);
  } catch (err) {
    throw new ConfigError([`${source}: cannot parse: ${(err as Error).message}`]);
  }
  if (raw === null || raw === undefined) raw = {};

  const issues: string[] = [];
  const resolved = resolveSecrets(raw, env, issues);
  const parsed = v.safeParse(ConfigSchema, resolved);
  if (parsed.success) {
    const config = normalize(parsed.output, source, env, issues);
    if (issues.length === 0) return config;
  } else {
    issues.push(...parsed.issues.map((i) => formatIssue(i)));
    // Still check the backends, so that one run lists every problem.
    const fallback = v.parse(ConfigSchema, {});
    const r = resolved as Partial<RawConfig>;
    normalizeBackends({ ...fallback, backends: asRecord(r.backends), mcpServers: asRecord(r.mcpServers) }, source, issues);
  }
  // Validators echo the value they got, which may be a resolved secret.
  throw new ConfigError(issues.map(scrub));
}

function formatIssue(issue: v.BaseIssue<unknown>, prefix = ""): string {
  const path = [prefix, v.getDotPath(issue)].filter(Boolean).join(".") || "(root)";
  if (issue.kind === "schema" && issue.expected === "never") return `${path}: unknown key`;
  return `${path}: ${issue.message}`;
}

function asRecord(x: unknown): Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
}

function baseDir(source: string): string {
  return source.startsWith("<") ? process.cwd() : dirname(source);
}

function normalizeBackends(raw: RawConfig, source: string, issues: string[]): BackendConfig[] {
  const base = baseDir(source);
  const separator = raw.names.separator;
  const entries = [
    ...Object.entries(raw.backends).map(([name, value]) => ({ section: "backends", name, value })),
    ...Object.entries(raw.mcpServers).map(([name, value]) => ({ section: "mcpServers", name, value })),
  ];
  const backends: BackendConfig[] = [];
  const seen = new Set<string>();
  const prefixes = new Map<string, string>();
  for (const { section, name, value } of entries) {
    const path = `${section}.${name}`;
    if (!NAME_PATTERN.test(name)) issues.push(`${path}: backend names may use only letters, digits, _ and -`);
    if (seen.has(name)) issues.push(`${path}: defined twice (backends and mcpServers)`);
    seen.add(name);
    const b = normalizeBackend(name, value, path, raw.server.timeout, separator, base, issues);
    if (!b) continue;
    const owner = prefixes.get(b.prefix);
    if (owner !== undefined && !b.disabled) {
      issues.push(`${path}.prefix: "${b.prefix}" is already used by backend ${owner}; names would collide`);
    } else if (!b.disabled) prefixes.set(b.prefix, name);
    backends.push(b);
  }
  return backends;
}

function normalize(raw: RawConfig, source: string, env: Env, issues: string[]): Config {
  const base = baseDir(source);
  const s = raw.server;
  const backends = normalizeBackends(raw, source, issues);
  return {
    source,
    server: {
      name: s.name ?? "sentinel",
      maxMessageBytes: s.maxMessageBytes,
      startupTimeoutMs: s.startupTimeout,
      shutdownTimeoutMs: s.shutdownTimeout,
      pageSize: s.pageSize,
      logLevel: s.logLevel,
    },
    http: {
      host: raw.http.host,
      port: raw.http.port,
      allowedOrigins: raw.http.allowedOrigins,
      sessionIdleMs: raw.http.sessionIdleTimeout,
    },
    names: { separator: raw.names.separator, maxLength: raw.names.maxLength },
    identity: {
      local: { sub: raw.identity.local.sub ?? localUser(env), roles: raw.identity.local.roles },
      anonymous: raw.identity.anonymous ? { roles: raw.identity.anonymous.roles } : null,
    },
    audit: {
      path: resolve(base, expandHome(raw.audit.path ?? join(defaultDataDir(env), "audit.db"))),
      enabled: raw.audit.enabled,
      maxArgumentBytes: raw.audit.maxArgumentBytes,
    },
    backends,
  };
}

function normalizeBackend(
  name: string,
  value: unknown,
  path: string,
  defaultTimeout: number,
  separator: string,
  base: string,
  issues: string[],
): BackendConfig | null {
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  if (!isObject || (!("command" in value) && !("url" in value))) {
    issues.push(`${path}: expected either "command" (a stdio server) or "url" (an HTTP server)`);
    return null;
  }
  const common = (b: {
    prefix?: string;
    timeout?: number;
    disabled?: boolean;
    restart?: { initialDelay: number; maxDelay: number };
    isolation: "shared" | "session";
  }) => ({
    name,
    prefix: b.prefix === undefined ? `${name}${separator}` : b.prefix === "" ? "" : `${b.prefix}${separator}`,
    timeoutMs: b.timeout ?? defaultTimeout,
    disabled: b.disabled ?? false,
    restart: { initialDelayMs: b.restart?.initialDelay ?? 500, maxDelayMs: b.restart?.maxDelay ?? 30_000 },
    isolation: b.isolation,
  });
  if ("command" in value) {
    const r = v.safeParse(StdioBackendSchema, value);
    if (!r.success) {
      issues.push(...r.issues.map((i) => formatIssue(i, path)));
      return null;
    }
    const b = r.output;
    return {
      ...common(b),
      transport: "stdio",
      command: b.command,
      args: b.args,
      env: b.env,
      inheritEnv: b.inheritEnv,
      ...(b.cwd !== undefined && { cwd: resolve(base, expandHome(b.cwd)) }),
    };
  }
  const r = v.safeParse(RemoteBackendSchema, value);
  if (!r.success) {
    issues.push(...r.issues.map((i) => formatIssue(i, path)));
    return null;
  }
  const b = r.output;
  return { ...common(b), transport: b.type === "sse" ? "sse" : "http", url: b.url, headers: b.headers };
}

function localUser(env: Env): string {
  // userInfo() can answer "unknown" where the uid has no passwd entry.
  let name = env.USER ?? env.LOGNAME;
  try {
    name ??= userInfo().username;
  } catch {}
  return name && name !== "unknown" ? name : "local";
}

