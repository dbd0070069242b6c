// ${env:NAME} and ${file:/path} references in config strings. Resolved values
// are registered with the logger's scrubber so that they never reach a log.

import { registerSecret } from "../log.ts";
import { expandHome } from "./paths.ts";

const reference = /\$\{(env|file):([^}]+)\}/g;

/**
 * Returns a copy of `raw` with every reference in every string resolved.
 * Problems are appended to `issues` as "<path>: <message>".
 */
export function resolveSecrets(raw: unknown, env: Record<string, string | undefined>, issues: string[], path = ""): unknown {
  if (typeof raw === "string") return resolveString(raw, env, issues, path);
  if (Array.isArray(raw)) return raw.map((v, i) => resolveSecrets(v, env, issues, `${path}.${i}`));
  if (typeof raw === "object" && raw !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) out[k] = resolveSecrets(v, env, issues, path ? `${path}.${k}` : k);
    return out;
  }
  return raw;
}

function resolveString(text: string, env: Record<string, string | undefined>, issues: string[], path: string): string {
  if (!text.includes("${")) return text;
  return text.replace(reference, (_, kind: string, ref: string) => {
    const value = kind === "env" ? env[ref] : readSecretFile(ref, issues, path);
    if (value === undefined) {
      if (kind === "env") issues.push(`${path}: environment variable ${ref} is not set`);
      return "";
    }
    registerSecret(value);
    return value;
  });
}

function readSecretFile(file: string, issues: string[], path: string): string | undefined {
  try {
    // A trailing newline in a secret file is an editor artefact, not part of the secret.
    // Loaded only here: node:fs costs idle memory, and ${file:} references are rare.
    const { readFileSync } = require("node:fs") as typeof import("node:fs");
    return readFileSync(expandHome(file), "utf8").replace(/\r?\n$/, "");
  } catch (err) {
    issues.push(`${path}: cannot read secret file ${file}: ${(err as NodeJS.ErrnoException).code ?? "error"}`);
    return undefined;
  }
}
