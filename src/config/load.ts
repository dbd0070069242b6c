// The one place that reads config files and the environment. Parses YAML or
// JSON, resolves secret references, validates, and returns plain typed values.
// Every problem is collected and reported together with its path.

import * as v from "valibot";
import { ConfigError } from "../errors.ts";
import { registerBackendUrl, registerInternal } from "../internal-values.ts";
import { registerSecret, scrub } from "../log.ts";
import { defaultDataDir, dirnameOf, expandHome, joinPath, resolvePath } from "./paths.ts";
import {
  ConfigSchema,
  NAME_PATTERN,
  RATE_PATTERN,
  type RuleInput,
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
  maxConcurrent: number | null;
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

/** A budget: `limit` calls per `periodMs`. */
export type Rate = { limit: number; periodMs: number; text: string };

export type ArgConstraint = { pattern: string } | { in: unknown[] } | { not: unknown } | string | number | boolean | null;

export type Rule = {
  backends?: string[];
  tools?: string[];
  prompts?: string[];
  resources?: string[];
  args?: Record<string, ArgConstraint>;
};

export type JwtConfig = {
  secret?: string;
  jwks?: string;
  issuer?: string[];
  audience: string[];
  algorithms?: string[];
  clockToleranceMs: number;
  rolesClaim: string;
  maxTtlMs: number;
};

/** Bounds on one incoming JSON-RPC message (see limits in schema.ts). */
export type JsonLimits = { messageBytes: number; depth: number; arrayItems: number; objectKeys: number; stringLength: number };

export type ApiKey = { name: string; hash: string; roles: string[] };

export type Config = {
  source: string;
  server: {
    name: string;
    startupTimeoutMs: number;
    shutdownTimeoutMs: number;
    pageSize: number;
    logLevel: "debug" | "info" | "warn" | "error";
  };
  /** client: what clients send; backend: what backends send. */
  limits: { client: JsonLimits; backend: JsonLimits };
  http: { host: string; port: number; allowedOrigins: string[]; sessionIdleMs: number; maxSessions: number };
  names: { separator: string; maxLength: number };
  /** local: the stdio caller without SENTINEL_TOKEN; null means a token is required. */
  identity: { local: Identity | null; anonymous: { roles: string[] } | null; stdioToken: string | null };
  auth: {
    jwt: JwtConfig | null;
    apiKeys: ApiKey[];
    oauth: { authorizationServers: string[]; resource?: string; scopesSupported?: string[] } | null;
  };
  /** null: no RBAC configured, every identity may use everything. */
  rbac: { roles: Record<string, { allow: Rule[]; deny: Rule[] }> } | null;
  rateLimits: { perIdentity: Rate | null; roles: Record<string, Rate>; backends: Record<string, Rate>; tools: Record<string, Rate> };
  pinning: { mode: "block" | "warn" | "off" };
  /** Kill switch: exposed tool names (globs) refused to everyone. */
  disabledTools: string[];
  audit: { path: string; enabled: boolean; maxArgumentBytes: number; retentionMs: number };
  backends: BackendConfig[];
};

type Env = Record<string, string | undefined>;

export async function readConfigFile(path: string, env: Env = process.env): Promise<Config> {
  const file = resolvePath(process.cwd(), expandHome(path, env));
  const handle = Bun.file(file);
  if (!(await handle.exists())) throw new ConfigError([`${path}: file not found`]);
  return parseConfig(await handle.text(), file, env);
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
    if (issues.length === 0) return keepInternal(config, env);
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

/** Registers what clients must never read in an error: where backends and files are (internal-values.ts). */
function keepInternal(config: Config, env: Env): Config {
  for (const b of config.backends) {
    if (b.transport === "stdio") {
      // A bare command name ("node", "npx") is no secret, and masking it would garble tool names.
      if (b.command.includes("/") || b.command.includes("\\")) registerInternal(b.command);
      if (b.cwd) registerInternal(b.cwd);
    } else registerBackendUrl(b.url);
  }
  if (config.auth.jwt?.jwks) registerBackendUrl(config.auth.jwt.jwks);
  if (!config.source.startsWith("<")) registerInternal(config.source);
  registerInternal(config.audit.path);
  if (env.HOME && env.HOME !== "/") registerInternal(env.HOME);
  return config;
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
  return source.startsWith("<") ? process.cwd() : dirnameOf(source);
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
  const jwt = raw.auth.jwt;
  if (jwt && !jwt.secret && !jwt.jwks) issues.push("auth.jwt: set secret (HS256) or jwks (RS256/ES256/EdDSA)");
  const hasAuth = Boolean(jwt) || raw.auth.apiKeys.length > 0;
  for (const name of Object.keys(raw.rateLimits.backends)) {
    if (!backends.some((b) => b.name === name)) issues.push(`rateLimits.backends.${name}: no such backend`);
  }
  if (raw.rbac) {
    for (const [role, r] of Object.entries(raw.rbac.roles)) {
      for (const side of ["allow", "deny"] as const) {
        r[side].forEach((rule, i) => {
          const at = `rbac.roles.${role}.${side}.${i}`;
          if (!rule.backends && !rule.tools && !rule.prompts && !rule.resources) {
            issues.push(`${at}: names no backends, tools, prompts or resources, so it would match nothing`);
          }
          for (const [arg, c] of Object.entries(rule.args ?? {})) {
            if (typeof c === "object" && c !== null && "pattern" in c && !isRegex(c.pattern)) {
              issues.push(`${at}.args.${arg}: invalid pattern ${JSON.stringify(c.pattern)}`);
            }
          }
        });
      }
    }
  }
  return {
    source,
    server: {
      name: s.name ?? "sentinel",
      startupTimeoutMs: s.startupTimeout,
      shutdownTimeoutMs: s.shutdownTimeout,
      pageSize: s.pageSize,
      logLevel: s.logLevel,
    },
    limits: {
      client: { ...raw.limits.client, messageBytes: s.maxMessageBytes ?? raw.limits.client.messageBytes },
      backend: raw.limits.backend,
    },
    http: {
      host: raw.http.host,
      port: raw.http.port,
      allowedOrigins: raw.http.allowedOrigins,
      sessionIdleMs: raw.http.sessionIdleTimeout,
      maxSessions: raw.http.maxSessions,
    },
    names: { separator: raw.names.separator, maxLength: raw.names.maxLength },
    identity: {
      local: raw.identity.local
        ? { sub: raw.identity.local.sub ?? localUser(env), roles: raw.identity.local.roles }
        : hasAuth
          ? null
          : { sub: localUser(env), roles: [] },
      anonymous: raw.identity.anonymous ? { roles: raw.identity.anonymous.roles } : null,
      stdioToken: stdioToken(env),
    },
    auth: {
      jwt: jwt
        ? {
            ...(jwt.secret !== undefined && { secret: jwt.secret }),
            ...(jwt.jwks !== undefined && { jwks: isUrl(jwt.jwks) ? jwt.jwks : resolvePath(base, expandHome(jwt.jwks, env)) }),
            ...(jwt.issuer !== undefined && { issuer: list(jwt.issuer) }),
            audience: list(jwt.audience),
            ...(jwt.algorithms !== undefined && { algorithms: jwt.algorithms }),
            clockToleranceMs: jwt.clockTolerance,
            rolesClaim: jwt.rolesClaim,
            maxTtlMs: jwt.maxTtl,
          }
        : null,
      apiKeys: raw.auth.apiKeys,
      oauth: raw.auth.oauth ?? null,
    },
    rbac: raw.rbac ? { roles: Object.fromEntries(Object.entries(raw.rbac.roles).map(([k, r]) => [k, { allow: r.allow.map(toRule), deny: r.deny.map(toRule) }])) } : null,
    rateLimits: {
      perIdentity: raw.rateLimits.perIdentity ? parseRate(raw.rateLimits.perIdentity) : null,
      roles: mapValues(raw.rateLimits.roles, parseRate),
      backends: mapValues(raw.rateLimits.backends, parseRate),
      tools: mapValues(raw.rateLimits.tools, parseRate),
    },
    pinning: { mode: raw.pinning.mode },
    disabledTools: raw.disabledTools,
    audit: {
      path: resolvePath(base, expandHome(raw.audit.path ?? joinPath(defaultDataDir(env), "audit.db"), env)),
      enabled: raw.audit.enabled,
      maxArgumentBytes: raw.audit.maxArgumentBytes,
      retentionMs: raw.audit.retention,
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
    maxConcurrent?: number;
  }) => ({
    name,
    prefix: b.prefix === undefined ? `${name}${separator}` : b.prefix === "" ? "" : `${b.prefix}${separator}`,
    timeoutMs: b.timeout ?? defaultTimeout,
    disabled: b.disabled ?? false,
    restart: { initialDelayMs: b.restart?.initialDelay ?? 500, maxDelayMs: b.restart?.maxDelay ?? 30_000 },
    isolation: b.isolation,
    maxConcurrent: b.maxConcurrent ?? null,
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
      ...(b.cwd !== undefined && { cwd: resolvePath(base, expandHome(b.cwd)) }),
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

/** The stdio caller's credential (a JWT or API key), from SENTINEL_TOKEN; masked in logs like any secret. */
function stdioToken(env: Env): string | null {
  const token = env.SENTINEL_TOKEN?.trim();
  if (!token) return null;
  registerSecret(token);
  return token;
}

function localUser(env: Env): string {
  const name = env.USER ?? env.LOGNAME;
  return name && name !== "unknown" ? name : "local";
}

const PERIODS: Record<string, number> = { s: 1000, sec: 1000, second: 1000, m: 60_000, min: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000, d: 86_400_000, day: 86_400_000 };

export function parseRate(text: string): Rate {
  const m = RATE_PATTERN.exec(text.trim())!;
  return { limit: Number(m[1]), periodMs: PERIODS[m[2]!]!, text };
}

function toRule(r: RuleInput): Rule {
  const out: Rule = {};
  if (r.backends !== undefined) out.backends = list(r.backends);
  if (r.tools !== undefined) out.tools = list(r.tools);
  if (r.prompts !== undefined) out.prompts = list(r.prompts);
  if (r.resources !== undefined) out.resources = list(r.resources);
  if (r.args !== undefined) out.args = r.args as Record<string, ArgConstraint>;
  return out;
}

function list(x: string | string[]): string[] {
  return Array.isArray(x) ? x : [x];
}

function mapValues<A, B>(o: Record<string, A>, f: (a: A) => B): Record<string, B> {
  return Object.fromEntries(Object.entries(o).map(([k, a]) => [k, f(a)]));
}

function isUrl(x: string): boolean {
  return /^https?:\/\//.test(x);
}

function isRegex(x: string): boolean {
  try {
    new RegExp(x);
    return true;
  } catch {
    return false;
  }
}
