// The config file's shape, checked once at load with valibot, and what it turns
// into: the config the gateway runs on, whose types are inferred from here. Keys
// are strict so that a typo is reported instead of silently ignored. What depends
// on where the file is or on the environment is filled in by load.ts.

import * as v from "valibot";
import { backendEntry, checkEntries, NAME_PATTERN, restart, toBackend } from "./backends.ts";
import { approvals, guardrails, shaping, views } from "./controls.ts";
import { duration } from "./duration.ts";
import { argConstraint, globs, list, roles } from "./patterns.ts";
import { rate } from "./rate.ts";

const MIB = 1024 * 1024;

/** One RBAC rule: what it matches (by glob) and, optionally, what the arguments must be. */
const rule = v.pipe(
  v.strictObject({
    backends: v.optional(globs),
    tools: v.optional(globs),
    prompts: v.optional(globs),
    resources: v.optional(globs),
    args: v.optional(v.record(v.string(), argConstraint)),
  }),
  // Before the lists are made, so that a bare "" still names nothing.
  v.check((r) => Boolean(r.backends || r.tools || r.prompts || r.resources), "names no backends, tools, prompts or resources, so it would match nothing"),
  v.transform(({ backends, tools, prompts, resources, args }) => ({
    ...(backends !== undefined && { backends: list(backends) }),
    ...(tools !== undefined && { tools: list(tools) }),
    ...(prompts !== undefined && { prompts: list(prompts) }),
    ...(resources !== undefined && { resources: list(resources) }),
    ...(args !== undefined && { args }),
  })),
);

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

const jwt = v.pipe(
  v.strictObject({
    /** HS256 shared secret (use ${env:...}); also what `sentinel token issue` signs with. */
    secret: v.optional(v.pipe(v.string(), v.minLength(32, "expected at least 32 characters"))),
    /** Public keys for RS256/ES256/EdDSA: a JWKS URL (cached, refreshed on unknown kid) or a JWKS file. */
    jwks: v.optional(v.string()),
    issuer: v.optional(v.union([v.string(), v.array(v.string())])),
    audience: v.optional(v.union([v.string(), v.array(v.string())]), "sentinel"),
    // Widened to string[]: jwt-keys.ts refuses unsupported names itself, whoever built its config.
    algorithms: v.optional(
      v.pipe(
        v.array(v.picklist(["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"])),
        v.transform((a): string[] => a),
      ),
    ),
    clockTolerance: v.optional(duration, 30_000),
    /** Claim holding the roles (a list, or a space-separated string like `scope`). */
    rolesClaim: v.optional(v.string(), "roles"),
    /** Longest accepted token lifetime left at verification; 0 = no limit. */
    maxTtl: v.optional(duration, 0),
  }),
  v.check((j) => j.secret !== undefined || j.jwks !== undefined, "set secret (HS256) or jwks (RS256/ES256/EdDSA)"),
  v.transform(({ issuer, audience, clockTolerance, maxTtl, ...j }) => ({
    ...j,
    ...(issuer !== undefined && { issuer: list(issuer) }),
    audience: list(audience),
    clockToleranceMs: clockTolerance,
    maxTtlMs: maxTtl,
  })),
);

const sections = v.strictObject({
  server: v.optional(
    v.pipe(
      v.strictObject({
        name: v.optional(v.pipe(v.string(), v.description("The name Sentinel gives itself to clients (serverInfo.name).")), "sentinel"),
        /** Older name of limits.client.messageBytes, still accepted. */
        maxMessageBytes: v.optional(count(1024)),
        startupTimeout: v.optional(duration, 15_000),
        shutdownTimeout: v.optional(duration, 10_000),
        logLevel: v.optional(v.pipe(v.picklist(["debug", "info", "warn", "error"]), v.description("Least severe log line written (to stderr).")), "info"),
        /** text: one readable line per event; json: one JSON object per line (time, level, component, request id, ...). */
        logFormat: v.optional(v.pipe(v.picklist(["text", "json"], 'expected "text" or "json"'), v.description("text: one readable line per event; json: one JSON object per line.")), "text"),
        /** Reload the config when its file changes (SIGHUP always reloads). */
        watchConfig: v.optional(v.pipe(v.boolean(), v.description("Reload the config when its file changes (SIGHUP always reloads).")), true),
        /** Each backend's, unless it sets its own. */
        timeout: v.optional(duration, 60_000),
        /** Items per page of Sentinel's merged lists. */
        pageSize: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.description("Items per page of Sentinel's merged lists.")), 500),
      }),
      v.description("The gateway itself: name, timeouts, logging, config reload."),
    ),
    {},
  ),
  http: v.optional(
    v.pipe(
      v.strictObject({
        host: v.optional(v.pipe(v.string(), v.description("Address to listen on; loopback unless you say otherwise.")), "127.0.0.1"),
        port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535), v.description("Port to listen on (0: any free port).")), 8787),
        /** Origins allowed besides the loopback ones (DNS-rebinding protection). */
        allowedOrigins: v.optional(v.pipe(v.array(v.string()), v.description("Browser origins allowed besides the loopback ones (DNS-rebinding protection).")), []),
        sessionIdleTimeout: v.optional(duration, 30 * 60_000),
        /** Open sessions at most; a client past it gets 503 until some expire or end. */
        maxSessions: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 10_000),
      }),
      v.description("The Streamable HTTP front (`sentinel serve --http`), served at /mcp."),
      v.transform(({ sessionIdleTimeout, ...h }) => ({ ...h, sessionIdleMs: sessionIdleTimeout })),
    ),
    {},
  ),
  /** GET /metrics (Prometheus text format) on the HTTP front. */
  metrics: v.optional(
    v.pipe(
      v.strictObject({
        enabled: v.optional(v.boolean(), true),
        /** A bearer token that scrapers present; without one, only loopback clients may scrape. */
        token: v.optional(v.pipe(v.string(), v.minLength(16, "expected at least 16 characters"), v.description("Bearer token scrapers present (use ${env:...}); without one, only loopback clients may scrape."))),
      }),
      v.description("GET /metrics (Prometheus text format) on the HTTP front."),
    ),
    {},
  ),
  /** OpenTelemetry traces, exported over OTLP/HTTP; off unless an endpoint is set. */
  tracing: v.optional(
    v.pipe(
      v.strictObject({
        /** e.g. http://127.0.0.1:4318/v1/traces */
        endpoint: v.optional(v.pipe(v.string(), v.url("expected a URL"))),
        headers: v.optional(v.record(v.string(), v.string()), {}),
        serviceName: v.optional(v.string(), "sentinel"),
        /** Share of traces started here that are kept (a client's sampled flag is followed). */
        sampleRatio: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 1),
      }),
      v.description("OpenTelemetry traces, exported over OTLP/HTTP; off unless an endpoint is set."),
      v.transform((t) => (t.endpoint ? { ...t, endpoint: t.endpoint } : null)),
    ),
    {},
  ),
  /** MCP 2026-07-28, the stateless revision, on the fronts (the 2025 revisions are always served). */
  modern: v.optional(
    v.pipe(
      v.strictObject({
        /** Answer server/discover and serve modern requests; false refuses the probe, so that clients stay on 2025-11-25. */
        enabled: v.optional(v.boolean(), true),
        /** How long a call parked for the client's input (input_required) waits for its retry before it is cancelled. */
        inputTimeout: v.optional(duration, 10 * 60_000),
        /** Parked calls per principal at most. */
        maxParked: v.optional(count(1), 32),
        /** subscriptions/listen streams per principal at most. */
        maxListens: v.optional(count(1), 64),
        /** Secret that seals requestState (at least 32 characters); by default a random one per process. */
        stateKey: v.optional(v.pipe(v.string(), v.minLength(32, "expected at least 32 characters"))),
      }),
      v.description("MCP 2026-07-28, the stateless revision, on the fronts (the 2025 revisions are always served)."),
      v.transform(({ inputTimeout, ...m }) => ({ ...m, inputTimeoutMs: inputTimeout })),
    ),
    {},
  ),
  limits: v.optional(
    v.pipe(
      v.strictObject({
        /** What clients send: small, since requests carry arguments, not payloads. */
        client: jsonLimits({ messageBytes: 4 * MIB, depth: 64, arrayItems: 10_000, objectKeys: 1_000, stringLength: 4 * MIB }),
        /** What backends send: results carry screenshots, files and dumps. */
        backend: jsonLimits({ messageBytes: 64 * MIB, depth: 64, arrayItems: 100_000, objectKeys: 10_000, stringLength: 64 * MIB }),
      }),
      v.description("Bounds on each JSON-RPC message, checked where it enters: client (what clients send) and backend (what backends send)."),
    ),
    {},
  ),
  names: v.optional(
    v.pipe(
      v.strictObject({
        separator: v.optional(v.pipe(v.string(), v.regex(NAME_PATTERN, "expected letters, digits, _ or -"), v.description("Between a backend's prefix and its tool names: <backend>__<tool>.")), "__"),
        maxLength: v.optional(v.pipe(v.number(), v.integer(), v.minValue(16), v.maxValue(64), v.description("Longer names are shortened with a stable hash suffix.")), 48),
      }),
      v.description("How exposed tool and prompt names are made."),
    ),
    {},
  ),
  identity: v.optional(
    v.pipe(
      v.strictObject({
        /**
         * Who the stdio front's caller is when it brings no SENTINEL_TOKEN. Without
         * it, the local user (no roles) if no auth is configured; else a token is required.
         */
        local: v.optional(
          v.pipe(
            v.strictObject({ sub: v.optional(v.string()), roles: v.optional(roles, []) }),
            v.description("Who the stdio caller is without SENTINEL_TOKEN; default: the local user (no roles) if no auth is configured, else a token is required."),
          ),
        ),
        /** Present only when unauthenticated HTTP access is wanted: closed by default. */
        anonymous: v.optional(
          v.pipe(
            v.strictObject({ roles: v.optional(roles, []) }),
            v.description("Present only when unauthenticated HTTP access is wanted (with these roles); absent, such clients get 401."),
          ),
        ),
      }),
      v.description("Who callers are when they bring no credential."),
      v.transform((i) => ({ local: i.local, anonymous: i.anonymous ?? null })),
    ),
    {},
  ),
  auth: v.optional(
    v.pipe(
      v.strictObject({
        jwt: v.optional(jwt),
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
      v.description("Bearer credentials: JWTs (HS256 secret or JWKS) and API keys (stored as hashes)."),
      v.transform((a) => ({ jwt: a.jwt ?? null, apiKeys: a.apiKeys, oauth: a.oauth ?? null })),
    ),
    {},
  ),
  /** null when absent: no RBAC configured, every identity may use everything. */
  rbac: v.optional(
    v.pipe(
      v.strictObject({
        roles: v.record(
          v.string(),
          v.strictObject({
            allow: v.optional(v.array(rule), []),
            deny: v.optional(v.array(rule), []),
          }),
        ),
      }),
      v.description("Role-based access: absent, every identity may use everything; present, what a role's rules do not allow is denied (deny wins)."),
    ),
  ),
  rateLimits: v.optional(
    v.pipe(
      v.strictObject({
        /** Every identity's budget for calls (tools/call, prompts/get, resources/read, ...). */
        perIdentity: v.optional(v.pipe(rate, v.description('Every identity\'s budget for calls, such as "600/min".'))),
        roles: v.optional(v.record(v.string(), rate), {}),
        backends: v.optional(v.record(v.string(), rate), {}),
        tools: v.optional(v.record(v.string(), rate), {}),
      }),
      v.description('Call budgets such as "600/min": per identity, and per role, backend or tool.'),
      v.transform(({ perIdentity, ...r }) => ({ perIdentity: perIdentity ?? null, ...r })),
    ),
    {},
  ),
  pinning: v.optional(
    v.pipe(
      v.strictObject({
        /** block: a changed or suspicious tool is withheld until approved; warn: passed, with an audit event. */
        mode: v.optional(v.pipe(v.picklist(["block", "warn", "off"], 'expected "block", "warn" or "off"'), v.description("block: a changed or suspicious tool is withheld until approved; warn: passed, with an audit event.")), "block"),
      }),
      v.description("Tool definitions are pinned at first sight; a changed one is held back (`sentinel tools diff|approve`)."),
    ),
    {},
  ),
  views: v.optional(views, {}),
  shaping: v.optional(shaping, {}),
  approvals: v.optional(approvals, []),
  guardrails: v.optional(guardrails, []),
  /** Kill switch: exposed tool names (globs) that no one may call. */
  disabledTools: v.optional(v.pipe(v.array(v.string()), v.description("Kill switch: exposed tool names (globs) that no one may call.")), []),
  audit: v.optional(
    v.pipe(
      v.strictObject({
        /** Default: defaultAuditPath() in paths.ts, applied by load.ts with the environment. */
        path: v.optional(v.pipe(v.string(), v.description("The SQLite file (audit rows, pins, switches, events); default: in the user's data directory."))),
        enabled: v.optional(v.boolean(), true),
        maxArgumentBytes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 16 * 1024),
        /** Rows older than this are deleted (hourly); 0 keeps them forever. */
        retention: v.optional(duration, 0),
      }),
      v.description("The audit trail: every call, who made it and what came of it."),
      v.transform(({ retention, ...a }) => ({ ...a, retentionMs: retention })),
    ),
    {},
  ),
  // Claude Code's .mcp.json calls them mcpServers; both sections are read alike.
  backends: v.optional(v.pipe(v.record(v.string(), backendEntry), v.description("The MCP servers behind the gateway, by name (letters, digits, _ and -).")), {}),
  mcpServers: v.optional(v.pipe(v.record(v.string(), backendEntry), v.description("Same as backends, under Claude Code's name (.mcp.json), so such a file can be used as it is.")), {}),
});

/** The whole config, validated, without what load.ts adds from the file's place and the environment. */
export const ConfigSchema = v.pipe(
  sections,
  // Unlike v.check, a raw check runs even when other parts failed, so that one run lists every problem.
  v.rawCheck(({ dataset, addIssue }) => checkEntries(dataset.value, dataset.issues ?? [], addIssue)),
  v.transform(assemble),
);

/** What one section takes from another: backends their prefix and timeout, limits the older maxMessageBytes. */
function assemble(c: v.InferOutput<typeof sections>) {
  const { timeout, maxMessageBytes, startupTimeout, shutdownTimeout, ...server } = c.server;
  const backends = [...Object.entries(c.backends), ...Object.entries(c.mcpServers)];
  return {
    server: { ...server, startupTimeoutMs: startupTimeout, shutdownTimeoutMs: shutdownTimeout },
    /** client: what clients send; backend: what backends send. */
    limits: { ...c.limits, client: { ...c.limits.client, messageBytes: maxMessageBytes ?? c.limits.client.messageBytes } },
    http: c.http,
    modern: c.modern,
    metrics: c.metrics,
    tracing: c.tracing,
    names: c.names,
    identity: c.identity,
    auth: c.auth,
    rbac: c.rbac ?? null,
    rateLimits: c.rateLimits,
    pinning: c.pinning,
    disabledTools: c.disabledTools,
    views: Object.fromEntries(
      Object.entries(c.views).map(([name, view]) => [
        name,
        {
          ...view,
          ...(view.backends !== undefined && { backends: list(view.backends) }),
          ...(view.tools !== undefined && { tools: list(view.tools) }),
          ...(view.prompts !== undefined && { prompts: list(view.prompts) }),
          ...(view.resources !== undefined && { resources: list(view.resources) }),
        },
      ]),
    ),
    shaping: c.shaping,
    approvals: c.approvals,
    guardrails: c.guardrails.map((g) => ({ ...g, ...(g.tools !== undefined && { tools: list(g.tools) }) })),
    audit: c.audit,
    backends: backends.map(([name, b]) => toBackend(name, b, c.names.separator, timeout)),
  };
}

/** Bounds on one incoming JSON-RPC message. */
export type JsonLimits = v.InferOutput<ReturnType<typeof jsonLimits>>;
export type Rule = v.InferOutput<typeof rule>;
export type ArgConstraint = v.InferOutput<typeof argConstraint>;
export type RestartPolicy = v.InferOutput<typeof restart>;
export type ApiKey = v.InferOutput<typeof sections>["auth"]["apiKeys"][number];
export type { Rate } from "./rate.ts";
