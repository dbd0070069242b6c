// The config file's shape, checked once at load with valibot. Keys are strict so
// that a typo is reported instead of silently ignored.

import * as v from "valibot";
import { parseDuration } from "./duration.ts";

export const NAME_PATTERN = /^[a-zA-Z0-9_-]+$/;

const duration = v.pipe(
  v.union([v.number(), v.string()], "expected a duration such as 500ms, 60s or 5m"),
  v.check((x) => parseDuration(x) !== null, "expected a duration such as 500ms, 60s or 5m"),
  v.transform((x) => parseDuration(x)!),
);

const stringMap = v.record(v.string(), v.string("expected a string"));
const roles = v.array(v.string("expected a role name"));

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

export const ConfigSchema = v.strictObject({
  server: v.optional(
    v.strictObject({
      name: v.optional(v.string()),
      maxMessageBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1024)), 4 * 1024 * 1024),
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
      /** Who the stdio front's caller is: the local user who launched Sentinel. */
      local: v.optional(v.strictObject({ sub: v.optional(v.string()), roles: v.optional(roles, []) }), {}),
      /** Present only when unauthenticated HTTP access is wanted: closed by default. */
      anonymous: v.optional(v.strictObject({ roles: v.optional(roles, []) })),
    }),
    {},
  ),
  audit: v.optional(
    v.strictObject({
      path: v.optional(v.string()),
      enabled: v.optional(v.boolean(), true),
      maxArgumentBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 16 * 1024),
    }),
    {},
  ),
  // Backends are checked one by one in load.ts, picking the schema by their shape.
  backends: v.optional(v.record(v.string(), v.unknown()), {}),
  mcpServers: v.optional(v.record(v.string(), v.unknown()), {}),
});

export type RawConfig = v.InferOutput<typeof ConfigSchema>;
export type StdioBackendInput = v.InferOutput<typeof StdioBackendSchema>;
export type RemoteBackendInput = v.InferOutput<typeof RemoteBackendSchema>;
