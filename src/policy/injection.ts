// Tool poisoning: text in a tool definition that the model reads as orders.
// The markers below are the ones published attacks use (instruction tags,
// invisible characters, "do not tell the user", reading SSH keys or MCP
// configs); plain descriptions of what a tool does should never hit one.
// A hit is a reason to ask a person, not proof: in block mode the tool waits
// for `sentinel tools approve`.

import type { Item } from "../backends/backend.ts";

type Marker = { test: RegExp; what: string };

export const INVISIBLE = /[\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF\u{E0000}-\u{E007F}]/u;

/** Orders to the model; guardrails look for these in results too. */
export const ORDER_MARKERS: readonly Marker[] = [
  {
    test: /<\s*\/?\s*(important|system|system[-_ ]?prompt|instructions?|hidden|critical|override)\s*(\s[^<>]*)?>/i,
    what: "instruction tag",
  },
  { test: /<\|(im_start|im_end|system|endoftext)\|>|\[\/?INST\]|<<\/?SYS>>/, what: "chat-template token" },
  {
    test: /\b(ignore|disregard|forget|override)\s+(all\s+|any\s+)?(of\s+)?(the\s+|your\s+)?(previous|prior|above|earlier|preceding|other)\s+(instructions|directions|prompts?|rules)/i,
    what: "\"ignore previous instructions\"",
  },
  {
    test: /\b(do\s+not|don'?t|never)\s+(tell|inform|mention\s+(this|it)\s+to|alert|notify|warn)\s+(the\s+)?user/i,
    what: "\"do not tell the user\"",
  },
  { test: /\b(do\s+not|don'?t|never)\s+(mention|reveal|disclose)\s+(that|this\s+(step|instruction)|the\s+fact)\b/i, what: "concealment request" },
  {
    test: /\bbefore\s+(using|calling|invoking)\s+this\s+tool,?\s+(you\s+(must|should)\s+)?(first\s+)?(read|open|cat|load)\b/i,
    what: "\"before using this tool, read\"",
  },
];

// References to secrets on disk: suspicious in a definition, ordinary in a file tool's result.
const PATH_MARKERS: Marker[] = [
  {
    test: /~\/\.ssh\b|\.ssh\/|\bid_(rsa|dsa|ecdsa|ed25519)\b|\bauthorized_keys\b/i,
    what: "reference to SSH keys",
  },
  {
    test: /\bmcp\.json\b|claude_desktop_config\.json|\.aws\/credentials|\bcredentials\.json\b|\.git-credentials|\.netrc\b|\.npmrc\b|\.pgpass\b|\.docker\/config\.json|\.kube\/config\b|\/etc\/(passwd|shadow)\b/i,
    what: "reference to a credentials file",
  },
  // `.env` alone is too common in honest text ("the .env loader"); a path or an order to read it is not.
  {
    test: /\/\.env\b|\b(read|open|cat|send|include|pass|upload|contents?\s+of)\b[^.\n]{0,40}[\s'"`(]\.env\b/i,
    what: "reference to a .env file",
  },
];

const MARKERS: Marker[] = [...ORDER_MARKERS, ...PATH_MARKERS];

// Text pushed out of sight after a wall of blanks, the way a UI truncates it.
const WHITESPACE_RUN = /\s{50,}(?=\S)/;
const BLOB = /[A-Za-z0-9+/_-]{200,}={0,2}/;

const MAX_DEPTH = 32;

/** A short reason when the definition looks like a prompt injection, else null. */
export function findInjection(tool: Item): string | null {
  const texts: [string, string][] = [];
  for (const field of ["name", "title", "description"] as const) collect(tool[field], field, texts, 0);
  collect(tool.inputSchema, "inputSchema", texts, 0);
  const annotations = tool.annotations;
  if (typeof annotations === "object" && annotations !== null) collect((annotations as Item).title, "annotations.title", texts, 0);
  for (const [where, text] of texts) {
    const reason = inspect(text);
    if (reason) return `${reason} in ${where}`;
  }
  return null;
}

function inspect(text: string): string | null {
  const hidden = INVISIBLE.exec(text);
  if (hidden) return `invisible character U+${hidden[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const m of MARKERS) if (m.test.test(text)) return m.what;
  const gap = WHITESPACE_RUN.exec(text);
  if (gap) return `text hidden after ${gap[0].length} whitespace characters`;
  const blob = BLOB.exec(text);
  if (blob) return `${blob[0].length}-character encoded blob`;
  return null;
}

/** Every string in a JSON value, keys included, each with its path. */
function collect(value: unknown, path: string, out: [string, string][], depth: number): void {
  if (typeof value === "string") out.push([path, value]);
  if (typeof value !== "object" || value === null || depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => collect(v, `${path}[${i}]`, out, depth + 1));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    const at = `${path}.${k}`;
    out.push([`${at} (key)`, k]);
    collect(v, at, out, depth + 1);
  }
}
