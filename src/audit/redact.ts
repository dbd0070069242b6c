// Argument values are stored for audit, but never a secret: values under keys
// that name a credential are replaced, and oversized documents are cut.

const SECRET_KEY = /pass(word|wd|phrase)?|secret|token|api[-_]?key|auth|credential|private[-_]?key|cookie|session[-_]?id|signature/i;
export const REDACTED = "[REDACTED]";

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 32 || typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
  return out;
}

/** JSON for the audit row, redacted and cut to maxBytes (still a JSON string then). */
export function auditJson(value: unknown, maxBytes: number): string | null {
  if (value === undefined) return null;
  const json = JSON.stringify(redact(value));
  if (json.length <= maxBytes) return json;
  return JSON.stringify({ truncated: true, bytes: json.length, head: json.slice(0, maxBytes) });
}
