// One backend entry of the config, a stdio child (it has "command") or an HTTP
// server (it has "url"), and the rules across entries: names, duplicates, prefixes.

import * as v from "valibot";
import { duration } from "./duration.ts";

export const NAME_PATTERN = /^[a-zA-Z0-9_-]+$/;

const stringMap = v.record(v.string(), v.string("expected a string"));

export const restart = v.pipe(
  v.strictObject({
    initialDelay: v.optional(duration, 500),
    maxDelay: v.optional(duration, 30_000),
  }),
  v.transform((r) => ({ initialDelayMs: r.initialDelay, maxDelayMs: r.maxDelay })),
);

// Fields every backend accepts, whatever its transport.
const common = {
  prefix: v.optional(v.pipe(v.string(), v.regex(/^[a-zA-Z0-9_-]*$/, "expected letters, digits, _ or -"), v.description('Put before its tool and prompt names with the separator; default: the backend\'s name; "" for none.'))),
  timeout: v.optional(v.pipe(duration, v.description("Per-call timeout; default: server.timeout."))),
  disabled: v.optional(v.pipe(v.boolean(), v.description("Configured but not started.")), false),
  restart: v.optional(restart, {}),
  description: v.optional(v.string()),
  /** Calls in flight at this backend at most; further calls are refused at once, not queued. */
  maxConcurrent: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  /** "session": one connection per client session, so that backend-initiated requests can only mean that session. */
  isolation: v.optional(v.picklist(["shared", "session"], 'expected "shared" or "session"'), "shared"),
  /** Which MCP revision it speaks: "auto" asks it (server/discover) and remembers the answer. */
  era: v.optional(v.picklist(["auto", "legacy", "modern"], 'expected "auto", "legacy" or "modern"'), "auto"),
  /** Not needed for readiness (/readyz): the gateway is ready without it. */
  optional: v.optional(v.boolean(), false),
  /** A 2025 backend is pinged this often; one that stops answering is degraded. interval 0: never. */
  liveness: v.optional(
    v.strictObject({ interval: v.optional(duration, 30_000), timeout: v.optional(duration, 5_000) }),
    {},
  ),
  /** After `failures` failures or timeouts in a row, calls fail fast for `coolDown`, then one probe call decides. */
  breaker: v.optional(
    v.strictObject({ failures: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 5), coolDown: v.optional(duration, 30_000) }),
    {},
  ),
  /** Retries of idempotent reads (lists, resources/read, prompts/get, tools annotated readOnlyHint or idempotentHint); 0: none. */
  retries: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(5)), 2),
  /** A stdio server that exits `restarts` times within `window` is marked down instead of restarted again. */
  crashLoop: v.optional(
    v.strictObject({ restarts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 5), window: v.optional(duration, 60_000) }),
    {},
  ),
};

const stdio = v.strictObject({
  ...common,
  type: v.optional(v.literal("stdio")),
  command: v.pipe(v.string("expected a command"), v.nonEmpty("expected a command"), v.description("The program to start (a stdio MCP server).")),
  args: v.optional(v.pipe(v.array(v.string("expected a string")), v.description("Its arguments.")), []),
  env: v.optional(v.pipe(stringMap, v.description("Environment of the child (use ${env:NAME} for secrets); it gets only HOME, LOGNAME, PATH, SHELL, TERM, USER, LANG, TMPDIR besides.")), {}),
  /** Names of parent environment variables passed through beyond the safe default set. */
  inheritEnv: v.optional(v.array(v.string()), []),
  cwd: v.optional(v.string()),
});

const remote = v.strictObject({
  ...common,
  type: v.optional(v.picklist(["http", "streamable-http", "sse"], 'expected "http" or "sse"'), "http"),
  url: v.pipe(v.string("expected a URL"), v.url("expected a URL"), v.description("The server's MCP endpoint (Streamable HTTP; type: sse for legacy SSE).")),
  headers: v.optional(v.pipe(stringMap, v.description("Sent with each request (use ${env:NAME} for tokens).")), {}),
});

const neither = v.custom<never>(() => false, 'expected either "command" (a stdio server) or "url" (an HTTP server)');

/** The schema is picked by the entry's shape, so that its problems are those of the transport it means. */
export const backendEntry = v.lazy((x) => (!isObject(x) ? neither : "command" in x ? stdio : "url" in x ? remote : neither));

type Entry = v.InferOutput<typeof backendEntry>;

/** Text placed before each tool and prompt name, separator included ("" for none). */
function prefixOf(name: string, prefix: string | undefined, separator: string): string {
  return prefix === "" ? "" : `${prefix ?? name}${separator}`;
}

/** An entry as the gateway uses it; its cwd, if any, is resolved by load.ts. */
export function toBackend(name: string, b: Entry, separator: string, defaultTimeoutMs: number) {
  const shared = {
    name,
    prefix: prefixOf(name, b.prefix, separator),
    timeoutMs: b.timeout ?? defaultTimeoutMs,
    disabled: b.disabled,
    restart: b.restart,
    isolation: b.isolation,
    era: b.era,
    optional: b.optional,
    liveness: { intervalMs: b.liveness.interval, timeoutMs: b.liveness.timeout },
    breaker: { failures: b.breaker.failures, coolDownMs: b.breaker.coolDown },
    retries: b.retries,
    crashLoop: { restarts: b.crashLoop.restarts, windowMs: b.crashLoop.window },
    maxConcurrent: b.maxConcurrent ?? null,
  };
  if ("command" in b) {
    const { command, args, env, inheritEnv, cwd } = b;
    return { ...shared, transport: "stdio" as const, command, args, env, inheritEnv, ...(cwd !== undefined && { cwd }) };
  }
  return { ...shared, transport: b.type === "sse" ? ("sse" as const) : ("http" as const), url: b.url, headers: b.headers };
}

type AddIssue = (info: { message: string; path: [v.IssuePathItem, ...v.IssuePathItem[]] }) => void;

/**
 * The rules across entries (and rateLimits.backends naming one), for a raw check
 * on the whole config: it runs even when other parts failed, so that one run lists
 * every problem. An entry that failed its own checks is left out of the prefix rule.
 */
export function checkEntries(root: unknown, issues: readonly v.BaseIssue<unknown>[], addIssue: AddIssue): void {
  const config = asRecord(root);
  const failed = (...keys: string[]) => issues.some((i) => keys.every((k, n) => i.path?.[n]?.key === k));
  const report = (message: string, ...keys: [string, ...string[]]) => addIssue({ message, path: pathTo(config, keys) });
  // Without a valid separator, prefixes are compared without it: they collide all the same.
  const separator = failed("names") ? "" : String(asRecord(config.names).separator);
  const names = new Set<string>();
  const prefixes = new Map<string, string>();
  for (const section of ["backends", "mcpServers"]) {
    for (const [name, entry] of Object.entries(asRecord(config[section]))) {
      if (!NAME_PATTERN.test(name)) report("backend names may use only letters, digits, _ and -", section, name);
      if (names.has(name)) report("defined twice (backends and mcpServers)", section, name);
      names.add(name);
      if (failed(section, name)) continue;
      const b = entry as Entry; // it passed its own schema
      if (b.disabled) continue;
      const prefix = prefixOf(name, b.prefix, separator);
      const owner = prefixes.get(prefix);
      if (owner !== undefined) report(`"${prefix}" is already used by backend ${owner}; names would collide`, section, name, "prefix");
      else prefixes.set(prefix, name);
    }
  }
  for (const name of Object.keys(asRecord(asRecord(config.rateLimits).backends))) {
    if (!names.has(name)) report("no such backend", "rateLimits", "backends", name);
  }
}

/** A valibot issue path to root.keys[0].keys[1]..., so that these problems read like any other. */
function pathTo(root: Record<string, unknown>, keys: [string, ...string[]]): [v.IssuePathItem, ...v.IssuePathItem[]] {
  let input = root;
  const items = keys.map((key) => {
    const item = { type: "object", origin: "value", input, key, value: input[key] } as const;
    input = asRecord(item.value);
    return item;
  });
  return items as [v.IssuePathItem, ...v.IssuePathItem[]];
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function asRecord(x: unknown): Record<string, unknown> {
  return isObject(x) ? x : {};
}
