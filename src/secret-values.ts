// Credentials recognised by their shape, wherever they appear: in audited
// arguments and in log lines (a backend may print a token on its stderr).

export const REDACTED = "[REDACTED]";

// Values that are credentials whatever key holds them: bearer tokens, JWTs and
// the common API key formats (OpenAI/Anthropic sk-, GitHub, Slack, AWS, Google),
// each named by its kind (guardrails report which kind they found).
export const SECRET_SHAPES: readonly (readonly [kind: string, source: string])[] = [
  ["bearer_token", "\\bBearer\\s+[A-Za-z0-9._~+/=-]{8,}"],
  ["jwt", "\\beyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}"],
  ["api_key", "\\bsk-[A-Za-z0-9_-]{16,}"],
  ["github_token", "\\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}"],
  ["github_token", "\\bgithub_pat_[A-Za-z0-9_]{30,}"],
  ["slack_token", "\\bxox[abposr]-[A-Za-z0-9-]{10,}"],
  ["aws_access_key", "\\bAKIA[0-9A-Z]{16}\\b"],
  ["google_api_key", "\\bAIza[0-9A-Za-z_-]{35}"],
];

const SECRET_VALUE = new RegExp(SECRET_SHAPES.map(([, source]) => source).join("|"), "g");

/** Masks credential-looking substrings of a string. */
export function redactValue(text: string): string {
  SECRET_VALUE.lastIndex = 0;
  return SECRET_VALUE.test(text) ? text.replace(SECRET_VALUE, REDACTED) : text;
}

