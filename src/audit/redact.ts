// Argument values are stored for audit, but never a secret: values under keys
// that name a credential are replaced, and oversized documents are cut.

import { REDACTED, redactValue } from "../secret-values.ts";

export { REDACTED };
const TOO_DEEP = "[REDACTED: nested too deep]";
const MAX_DEPTH = 32;

// Whole words of a key (camelCase, snake_case, kebab-case split): "author",
// "max_tokens" and "bypass" are not secrets, "accessToken" and "db_password" are.
const SECRET_WORDS = new Set([
  "password", "passwd", "pwd", "passphrase", "secret", "token", "auth", "authorization",
  "credential", "credentials", "cookie", "signature", "bearer", "apikey", "privatekey", "sessionid",
]);
const SECRET_PAIRS = new Set(["api key", "access key", "private key", "session id", "client secret"]);

// Argument names repeat from call to call: each is judged once.
const judged = new Map<string, boolean>();
const MAX_JUDGED = 4096;

export function isSecretKey(key: string): boolean {
  let secret = judged.get(key);
  if (secret === undefined) {
    secret = judgeKey(key);
    if (judged.size >= MAX_JUDGED) judged.clear();
    judged.set(key, secret);
  }
  return secret;
}

function judgeKey(key: string): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  for (let i = 0; i < words.length; i++) {
    if (SECRET_WORDS.has(words[i]!)) return true;
    if (i > 0 && SECRET_PAIRS.has(`${words[i - 1]} ${words[i]}`)) return true;
  }
  return false;
}

export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactValue(value);
  if (typeof value !== "object" || value === null) return value;
  // Past the cap we cannot look inside, so nothing inside is kept.
  if (depth >= MAX_DEPTH) return TOO_DEEP;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretKey(k) ? REDACTED : redact(v, depth + 1);
  return out;
}

/** JSON for the audit row, redacted, and at most maxBytes long (still valid JSON when cut). */
export function auditJson(value: unknown, maxBytes: number): string | null {
  if (value === undefined) return null;
  const json = JSON.stringify(redact(value));
  const bytes = Buffer.byteLength(json);
  if (bytes <= maxBytes) return json;
  // Shrink the kept head until the wrapper, escaping included, fits.
  let keep = Math.max(0, maxBytes - 64);
  for (;;) {
    const cut = JSON.stringify({ truncated: true, bytes, head: json.slice(0, keep) });
    if (Buffer.byteLength(cut) <= maxBytes || keep === 0) return Buffer.byteLength(cut) <= maxBytes ? cut : null;
    keep = Math.floor(keep * 0.8);
  }
}
