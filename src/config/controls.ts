// The sections that shape and control what callers get, beyond RBAC: views
// (virtual servers), per-tool shaping, approvals and guardrails.

import * as v from "valibot";
import { duration } from "./duration.ts";
import { argConstraint, globs, list, roles } from "./patterns.ts";

/**
 * Virtual servers: named subsets of what backends offer (globs over exposed
 * names), reached as /mcp/<view> or `sentinel --view <view>`. A filter, never a grant.
 */
export const views = v.pipe(
  v.record(
    v.pipe(v.string(), v.regex(/^[a-zA-Z0-9_-]+$/, "view names may use only letters, digits, _ and -")),
    v.strictObject({
      description: v.optional(v.string()),
      instructions: v.optional(v.string()),
      backends: v.optional(globs),
      tools: v.optional(globs),
      prompts: v.optional(globs),
      resources: v.optional(globs),
    }),
  ),
  v.description("Virtual servers: named subsets of the tools, prompts and resources, reached as /mcp/<view> or sentinel --view <view>."),
);

/** Scans of what passes: secrets and prompt-injection markers in results (and optionally arguments). Off unless rules are given. */
export const guardrails = v.pipe(
  v.array(
    v.strictObject({
      /** What is scanned. */
      scan: v.optional(v.picklist(["results", "arguments", "both"]), "results"),
      detect: v.optional(v.array(v.picklist(["secrets", "injection"])), ["secrets", "injection"]),
      /** redact: replace the match and mark the result; block: refuse with an error; warn: pass and record an event. */
      action: v.picklist(["redact", "block", "warn"], 'expected "redact", "block" or "warn"'),
      /** Exposed tool names (globs) the rule applies to; all tools and resources by default. */
      tools: v.optional(globs),
    }),
  ),
  v.description("Guardrails on results and arguments: secrets and prompt-injection markers, redacted, blocked or reported."),
);

/**
 * Per-tool shaping, by exposed name or glob, applied after pinning has judged
 * the backend's own definition: hide, rename, shorter title or description,
 * argument defaults and fixed values the caller cannot override, alwaysLoad.
 */
export const shaping = v.pipe(
  v.record(
    v.string(),
    v.strictObject({
      hide: v.optional(v.boolean()),
      rename: v.optional(v.pipe(v.string(), v.regex(/^[a-zA-Z0-9_-]+$/, "expected letters, digits, _ or -"))),
      title: v.optional(v.string()),
      description: v.optional(v.string()),
      /** Filled in when the caller leaves them out. */
      defaults: v.optional(v.record(v.string(), v.unknown())),
      /** Always these values, whatever the caller sends (and not shown in the schema). */
      fixed: v.optional(v.record(v.string(), v.unknown())),
      /** Tell clients that defer loading tools to load this one at once. */
      alwaysLoad: v.optional(v.boolean()),
    }),
  ),
  v.description("Per-tool shaping by exposed name or glob: hide, rename, title/description, argument defaults and fixed values, alwaysLoad."),
);

/** Calls that need a person's approval before they reach the backend. */
export const approvals = v.pipe(
  v.array(
    v.pipe(
      v.strictObject({
        tools: globs,
        /** As in RBAC rules: the call needs approval only when its arguments match. */
        args: v.optional(v.record(v.string(), argConstraint)),
        /** Whose calls need it (default: everyone's). */
        roles: v.optional(roles),
        identities: v.optional(v.array(v.string())),
        /** A role whose members approve from `sentinel approvals` or the admin page, instead of the caller. */
        approver: v.optional(v.string()),
        /** How long a call waits for its approval. */
        timeout: v.optional(duration, 5 * 60_000),
      }),
      v.transform(({ tools, timeout, ...a }) => ({ ...a, tools: list(tools), timeoutMs: timeout })),
    ),
  ),
  v.description("Calls that need a person's approval first: asked of the caller (elicitation or input_required) or of an approver role."),
);
