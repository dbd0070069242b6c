// The config's JSON Schema, generated from the valibot schema so that it never
// drifts, for editors (VS Code YAML completes and checks with it) and for
// `sentinel schema`. It describes what the file may say: the input side, before
// durations, rates and references are turned into values. Rules across entries
// (unique prefixes, a rule naming something) stay with `sentinel check`.

import { toJsonSchema, type JsonSchema } from "@valibot/to-json-schema";
import { backendEntry } from "./backends.ts";
import { duration } from "./duration.ts";
import { ConfigSchema } from "./schema.ts";

/** What parseDuration in duration.ts takes (it trims first); the test holds the two together. */
export const DURATION_PATTERN = "^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h|d)\\s*$";

/** A ${env:NAME} or ${file:/path} reference, resolved by secrets.ts before validation. */
export const REFERENCE_PATTERN = "\\$\\{(env|file):[^}]+\\}";

const DURATION_TEXT = 'milliseconds, or a duration such as "500ms", "60s", "5m", "8h", "1d"';

// The entry's schema is picked by its shape (backends.ts); asking the picker itself keeps this in step with it.
const stdioEntry = backendEntry.getter({ command: "" });
const remoteEntry = backendEntry.getter({ url: "" });
const shapeless = backendEntry.getter(undefined);

export function configJsonSchema(): JsonSchema {
  const schema = toJsonSchema(ConfigSchema, {
    // draft-07: what VS Code's YAML extension (yaml-language-server) supports best.
    target: "draft-07",
    typeMode: "input",
    // Anything new that cannot be converted fails here (and in the test) instead of being left out.
    errorMode: "throw",
    definitions: { backend: shapeless, stdioBackend: stdioEntry, httpBackend: remoteEntry, duration },
    overrideSchema({ valibotSchema }) {
      if (valibotSchema !== shapeless) return null;
      return {
        description: 'A backend MCP server: a stdio child (it has "command") or an HTTP server (it has "url").',
        anyOf: [{ $ref: "#/$defs/stdioBackend" }, { $ref: "#/$defs/httpBackend" }],
      };
    },
    overrideAction({ valibotAction, jsonSchema }) {
      if (valibotAction === duration.pipe[1]) {
        return {
          description: DURATION_TEXT,
          anyOf: [
            { type: "number", minimum: 0 },
            { type: "string", pattern: DURATION_PATTERN },
          ],
        };
      }
      // Checks across fields (jwt: secret or jwks; a rule names something; unique prefixes): `sentinel check` reports them.
      if (valibotAction.type === "check" || valibotAction.type === "raw_check") return jsonSchema;
      return null;
    },
  });
  return {
    ...withReferences(schema),
    title: "Sentinel config",
    description: "Sentinel, an MCP gateway: its config file (YAML or JSON). `sentinel check --config FILE` checks what a schema cannot.",
  };
}

/**
 * Any string may be a ${env:...} or ${file:...} reference, resolved before validation, so a
 * string that is constrained (a URL, a pattern, a minimum length) also accepts one.
 */
function withReferences(node: JsonSchema): JsonSchema {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = walk(value);
  const s = out as JsonSchema;
  if (s.type !== "string" || (s.pattern === undefined && s.format === undefined && s.minLength === undefined)) return s;
  const { description, default: fallback, ...constraint } = s;
  return {
    ...(description !== undefined && { description }),
    ...(fallback !== undefined && { default: fallback }),
    anyOf: [constraint, { type: "string", pattern: REFERENCE_PATTERN }],
  };
}

function walk(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(walk);
  if (typeof value === "object" && value !== null) return withReferences(value as JsonSchema);
  return value;
}

