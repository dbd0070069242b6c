// The config file's shape, checked once at load with valibot. Keys are strict so
// that a typo is reported instead of silently ignored.

import * as v from "valibot";
import { parseDuration } from "./duration.ts";

const MIB = 1024 * 1024;

export const NAME_PATTERN = /^[a-zA-Z0-9_-]+$/;

const duration = v.pipe(
  v.union([v.number(), v.string()], "expected a duration such as 500ms, 60s or 5m"),
  v.check((x) => parseDuration(x) !== null, "expected a duration such as 500ms, 60s or 5m"),
  v.transform((x) => parseDuration(x)!),
);

const stringMap = v.record(v.string(), v.string("expected a string"));
const roles = v.array(v.string("expected a role name"));

/** "10/min", "100/s", "5000/h", "1/sec". */
export const RATE_PATTERN = /^(\d+)\s*\/\s*(s|sec|second|m|min|minute|h|hour|d|day)$/;
const rate = v.pipe(v.string("expected a rate such as 10/min"), v.regex(RATE_PATTERN, "expected a rate such as 10/min, 100/s or 5000/h"));

const globs = v.union([v.string(), v.array(v.string())], "expected a name pattern or a list of them");
/** An argument constraint: an exact value, or { pattern } / { in } / { not }. */
const argConstraint = v.union([
  v.strictObject({ pattern: v.string() }),
  v.strictObject({ in: v.array(v.unknown()) }),
  v.strictObject({ not: v.unknown() }),
  v.union([v.string(), v.number(), v.boolean(), v.null()]),
]);
/** One RBAC rule: what it matches (by glob) and, optionally, what the arguments must be. */
const rule = v.strictObject({
  backends: v.optional(globs),
  tools: v.optional(globs),
  prompts: v.optional(globs),
  resources: v.optional(globs),
  args: v.optional(v.record(v.string(), argConstraint)),
});

const restart = v.strictObject({
  initialDelay: v.optional(duration, 500),
  maxDelay: v.optional(duration, 30_000),
});

// Fields every backend accepts, whatever its transport.
const common = {
  prefix: v.optional(v.pipe(v.string(), v.regex(/^[a-zA-Z0-9_-]*$/, "expected letters, digits, _ or -"))),
  timeout: v.optional(duration),
  disabled: v.optional(v.boolean()),
  restart: v.optional(restart),
  description: v.optional(v.string()),
  /** Calls in flight at this backend at most; further calls are refused at once, not queued. */
  maxConcurrent: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  /** "session": one connection per client session, so that backend-initiated requests can only mean that session. */
  isolation: v.optional(v.picklist(["shared", "session"], 'expected "shared" or "session"'), "shared"),
};

export const StdioBackendSchema = v.strictObject({
  ...common,
  type: v.optional(v.literal("stdio")),
  command: v.pipe(v.string("expected a command"), v.nonEmpty("expected a command")),
  args: v.optional(v.array(v.string("expected a string")), []),
  env: v.optional(stringMap, {}),
  /** Names of parent environment variables passed through beyond the safe default set. */
  inheritEnv: v.optional(v.array(v.string()), []),
  cwd: v.optional(v.string()),
});

export const RemoteBackendSchema = v.strictObject({
  ...common,
  type: v.optional(v.picklist(["http", "streamable-http", "sse"], 'expected "http" or "sse"'), "http"),
  url: v.pipe(v.string("expected a URL"), v.url("expected a URL")),
  headers: v.optional(stringMap, {}),
});

const count = (min: number) => v.pipe(v.number(), v.integer(), v.minValue(min));

/** Bounds on one JSON-RPC message, checked where it enters, before anything acts on it. */
const jsonLimits = (d: { messageBytes: number; depth: number; arrayItems: number; objectKeys: number; stringLength: number }) =>
  v.optional(
    v.strictObject({
      messageBytes: v.optional(count(1024), d.messageBytes),
      /** Nesting of arrays and objects; the message itself is depth 1. Past ~40,000, JSON.stringify itself overflows. */
      depth: v.optional(v.pipe(count(4), v.maxValue(10_000)), d.depth),
      arrayItems: v.optional(count(1), d.arrayItems),
      objectKeys: v.optional(count(1), d.objectKeys),
      /** Characters in one string (keys included). */
      stringLength: v.optional(count(1), d.stringLength),
    }),
    {},
  );

export const ConfigSchema = v.strictObject({
  server: v.optional(
    v.strictObject({
      name: v.optional(v.string()),
      /** Older name of limits.client.messageBytes, still accepted. */
      maxMessageBytes: v.optional(count(1024)),
      startupTimeout: v.optional(duration, 15_000),
      shutdownTimeout: v.optional(duration, 10_000),
      logLevel: v.optional(v.picklist(["debug", "info", "warn", "error"]), "info"),
      timeout: v.optional(duration, 60_000),
      /** Items per page of Sentinel's merged lists. */
      pageSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 500),
    }),
    {},
  ),
  http: v.optional(
    v.strictObject({
      host: v.optional(v.string(), "127.0.0.1"),
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), 8787),
      /** Origins allowed besides the loopback ones (DNS-rebinding protection). */
      allowedOrigins: v.optional(v.array(v.string()), []),
      sessionIdleTimeout: v.optional(duration, 30 * 60_000),
      /** Open sessions at most; a client past it gets 503 until some expire or end. */
      maxSessions: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 10_000),
    }),
    {},
  ),
  limits: v.optional(
    v.strictObject({
      /** What clients send: small, since requests carry arguments, not payloads. */
      client: jsonLimits({ messageBytes: 4 * MIB, depth: 64, arrayItems: 10_000, objectKeys: 1_000, stringLength: 4 * MIB }),
      /** What backends send: results carry screenshots, files and dumps. */
      backend: jsonLimits({ messageBytes: 64 * MIB, depth: 64, arrayItems: 100_000, objectKeys: 10_000, stringLength: 64 * MIB }),
    }),
    {},
  ),
  names: v.optional(
    v.strictObject({
      separator: v.optional(v.pipe(v.string(), v.regex(NAME_PATTERN, "expected letters, digits, _ or -")), "__"),
      maxLength: v.optional(v.pipe(v.number(), v.integer(), v.minValue(16), v.maxValue(64)), 48),
    }),
    {},
  ),
  identity: v.optional(
    v.strictObject({
      /**
       * Who the stdio front's caller is when it brings no SENTINEL_TOKEN. Without
       * it, the local user (no roles) if no auth is configured; else a token is required.
       */
      local: v.optional(v.strictObject({ sub: v.optional(v.string()), roles: v.optional(roles, []) })),
      /** Present only when unauthenticated HTTP access is wanted: closed by default. */
      anonymous: v.optional(v.strictObject({ roles: v.optional(roles, []) })),
    }),
    {},
  ),
  auth: v.optional(
    v.strictObject({
      jwt: v.optional(
        v.strictObject({
          /** HS256 shared secret (use ${env:...}); also what `sentinel token issue` signs with. */
          secret: v.optional(v.pipe(v.string(), v.minLength(32, "expected at least 32 characters"))),
          /** Public keys for RS256/ES256/EdDSA: a JWKS URL (cached, refreshed on unknown kid) or a JWKS file. */
          jwks: v.optional(v.string()),
          issuer: v.optional(v.union([v.string(), v.array(v.string())])),
          audience: v.optional(v.union([v.string(), v.array(v.string())]), "sentinel"),
          algorithms: v.optional(v.array(v.picklist(["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]))),
          clockTolerance: v.optional(duration, 30_000),
          /** Claim holding the roles (a list, or a space-separated string like `scope`). */
          rolesClaim: v.optional(v.string(), "roles"),
          /** Longest accepted token lifetime left at verification; 0 = no limit. */
          maxTtl: v.optional(duration, 0),
        }),
      ),
      apiKeys: v.optional(
        v.array(
          v.strictObject({
            name: v.pipe(v.string(), v.nonEmpty()),
            /** From `sentinel token hash`: "sha256:<hex>"; the key itself is never stored. */
            hash: v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/, 'expected "sha256:<64 hex>" from `sentinel token hash`')),
            roles: v.optional(roles, []),
          }),
        ),
        [],
      ),
      /** OAuth 2.1 resource-server metadata (RFC 9728) served at /.well-known/oauth-protected-resource. */
      oauth: v.optional(
        v.strictObject({
          authorizationServers: v.pipe(v.array(v.pipe(v.string(), v.url("expected a URL"))), v.minLength(1)),
          /** This gateway's public resource URL; default: derived from the request. */
          resource: v.optional(v.pipe(v.string(), v.url("expected a URL"))),
          scopesSupported: v.optional(v.array(v.string())),
        }),
      ),
    }),
    {},
  ),
  rbac: v.optional(
    v.strictObject({
      roles: v.record(
        v.string(),
        v.strictObject({
          allow: v.optional(v.array(rule), []),
          deny: v.optional(v.array(rule), []),
        }),
      ),
    }),
  ),
  rateLimits: v.optional(
    v.strictObject({
      /** Every identity's budget for calls (tools/call, prompts/get, resources/read, ...). */
      perIdentity: v.optional(rate),
      roles: v.optional(v.record(v.string(), rate), {}),
      backends: v.optional(v.record(v.string(), rate), {}),
      tools: v.optional(v.record(v.string(), rate), {}),
    }),
    {},
  ),
  pinning: v.optional(
    v.strictObject({
      /** block: a changed or suspicious tool is withheld until approved; warn: passed, with an audit event. */
      mode: v.optional(v.picklist(["block", "warn", "off"], 'expected "block", "warn" or "off"'), "block"),
    }),
    {},
  ),
  /** Kill switch: exposed tool names (globs) that no one may call. */
  disabledTools: v.optional(v.array(v.string()), []),
  audit: v.optional(
    v.strictObject({
      path: v.optional(v.string()),
      enabled: v.optional(v.boolean(), true),
      maxArgumentBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 16 * 1024),
      /** Rows older than this are deleted (hourly); 0 keeps them forever. */
      retention: v.optional(duration, 0),
    }),
    {},
  ),
  // Backends are checked one by one in load.ts, picking the schema by their shape.
  backends: v.optional(v.record(v.string(), v.unknown()), {}),
  mcpServers: v.optional(v.record(v.string(), v.unknown()), {}),
});

export type RawConfig = v.InferOutput<typeof ConfigSchema>;
export type RuleInput = v.InferOutput<typeof rule>;
export type StdioBackendInput = v.InferOutput<typeof StdioBackendSchema>;
export type RemoteBackendInput = v.InferOutput<typeof RemoteBackendSchema>;
