// The one place that reads config files and the environment. Parses YAML or
// JSON, resolves secret references, validates with the schema, and fills in
// what depends on where the file is and on the environment. Every problem is
// collected and reported together with its path.

import * as v from "valibot";
import { ConfigError } from "../errors.ts";
import { registerBackendUrl, registerInternal } from "../internal-values.ts";
import { registerSecret, scrub } from "../log.ts";
import { defaultAuditPath, dirnameOf, expandHome, resolvePath } from "./paths.ts";
import { ConfigSchema } from "./schema.ts";
import { resolveSecrets } from "./secrets.ts";

export type { ApiKey, ArgConstraint, JsonLimits, Rate, RestartPolicy, Rule } from "./schema.ts";
export { parseRate } from "./rate.ts";

export type Config = v.InferOutput<ReturnType<typeof configSchema>>;
export type BackendConfig = Config["backends"][number];
export type StdioBackendConfig = Extract<BackendConfig, { transport: "stdio" }>;
export type RemoteBackendConfig = Exclude<BackendConfig, StdioBackendConfig>;
export type JwtConfig = NonNullable<Config["auth"]["jwt"]>;
export type Identity = NonNullable<Config["identity"]["local"]>;

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
  const parsed = v.safeParse(configSchema(source, env), resolved);
  if (parsed.success && issues.length === 0) return keepInternal(parsed.output, env);
  if (!parsed.success) issues.push(...parsed.issues.map(formatIssue));
  // Validators echo the value they got, which may be a resolved secret.
  throw new ConfigError(issues.map(scrub));
}

/** The schema, finished with what it cannot know: the config file's place and the environment. */
function configSchema(source: string, env: Env) {
  return v.pipe(ConfigSchema, v.transform((c) => inContext(c, source, env)));
}

/** Paths made absolute against the config file's directory ("~" expanded), and the defaults taken from the environment. */
function inContext(c: v.InferOutput<typeof ConfigSchema>, source: string, env: Env) {
  const base = source.startsWith("<") ? process.cwd() : dirnameOf(source);
  const resolve = (path: string) => resolvePath(base, expandHome(path, env));
  const { jwt } = c.auth;
  const hasAuth = jwt !== null || c.auth.apiKeys.length > 0;
  // Without identity.local the stdio caller is the local user, unless auth is configured: then it needs a token.
  const local = c.identity.local ?? (hasAuth ? null : { sub: undefined, roles: [] as string[] });
  return {
    source,
    ...c,
    /** local: the stdio caller without SENTINEL_TOKEN; null means a token is required. */
    identity: { ...c.identity, local: local && { sub: local.sub ?? localUser(env), roles: local.roles }, stdioToken: stdioToken(env) },
    auth: { ...c.auth, jwt: jwt && { ...jwt, ...(jwt.jwks !== undefined && !isUrl(jwt.jwks) && { jwks: resolve(jwt.jwks) }) } },
    audit: { ...c.audit, path: resolve(c.audit.path ?? defaultAuditPath(env)) },
    backends: c.backends.map((b) => (b.transport === "stdio" ? { ...b, ...(b.cwd !== undefined && { cwd: resolve(b.cwd) }) } : b)),
  };
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

function formatIssue(issue: v.BaseIssue<unknown>): string {
  const path = v.getDotPath(issue) ?? "(root)";
  if (issue.kind === "schema" && issue.expected === "never") return `${path}: unknown key`;
  return `${path}: ${issue.message}`;
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

function isUrl(x: string): boolean {
  return /^https?:\/\//.test(x);
}
