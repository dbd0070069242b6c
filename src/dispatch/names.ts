// How backend names become client-visible names: the backend's prefix (its
// separator included, decided in config) plus the original name, made to fit
// the Claude API's tool-name rule. Claude Code shows a tool to the model as
// mcp__<server>__<name>, and the API refuses more than 64 characters in total,
// so names are kept within a configurable budget (default 48).

import { sha256Hex } from "../sha256.ts";

const VALID = /^[a-zA-Z0-9_-]+$/;
const HASH_LENGTH = 6;

export function exposedName(prefix: string, name: string, maxLength: number): string {
  const full = prefix + name;
  if (full.length <= maxLength && VALID.test(full)) return full;
  // Deterministic: the same original always maps to the same short name.
  const hash = sha256Hex(full).slice(0, HASH_LENGTH);
  const safe = full.replace(/[^a-zA-Z0-9_-]/g, "_");
  return `${safe.slice(0, maxLength - HASH_LENGTH - 1)}_${hash}`;
}
