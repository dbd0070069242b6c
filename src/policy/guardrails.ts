// Guardrails: what passes through Sentinel is scanned for secrets (the shapes
// audit redaction knows, plus private keys and AWS secret keys) and for the
// orders to a model that pinning looks for in definitions. Per rule, a hit is
// redacted, blocked or reported. Compiled once from the config; with no rules
// there is nothing to compile and the router never calls in here.
//
// One pass per detector over the concatenation of a message's strings: a
// marker split across two content blocks is still one match, and the cost is
// linear in the size of the result (measured: scripts/bench-guardrails.ts).

import type { Config } from "../config/load.ts";
import { GuardrailBlocked } from "../errors.ts";
import { redactValue, SECRET_SHAPES } from "../secret-values.ts";
import { compileGlobs } from "./glob.ts";
import { INVISIBLE, ORDER_MARKERS } from "./injection.ts";

type Rule = Config["guardrails"][number];
type Detector = "secrets" | "injection";
type Json = Record<string, unknown>;

/** What a scan decided. `found` lists the kinds (github_token, injection, ...), never the matched text. */
export type GuardrailVerdict<T> =
  | { verdict: "pass" }
  | { verdict: "warned"; found: string[] }
  | { verdict: "redacted"; value: T; found: string[] }
  | { verdict: "blocked"; error: GuardrailBlocked; found: string[] };

/** Where a security event goes (GovernanceStore.event). */
export type RecordEvent = (kind: string, detail: string) => void;

export const GUARDRAILS_META = "sentinel/guardrails";
const SEPARATOR = "\n";
const PASS = { verdict: "pass" } as const;

// Shapes that guardrails add to audit redaction's: a PEM private key (the whole
// block; cut short, its header and what follows to the next "-----"), and an AWS secret key, told
// from any 40-character run only by the name before it.
const EXTRA_SECRETS: [string, string][] = [
  // The body never holds "-----", so each header looks no further than the next one: linear.
  ["private_key", "-----BEGIN ([A-Z0-9]+ ){0,3}PRIVATE KEY-----(?:[A-Za-z0-9+/=\\s:,.]|-(?!----)){0,16384}(?:-----END ([A-Z0-9]+ ){0,3}PRIVATE KEY-----)?"],
  ["aws_secret_key", "\\b(?:aws|AWS)_?(?:secret|SECRET)_?(?:access_?|ACCESS_?)?(?:key|KEY)[\"']?\\s*[:=]\\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"],
];
const SECRET_KINDS = [...SECRET_SHAPES.map(([kind]) => kind), ...EXTRA_SECRETS.map(([kind]) => kind)];
const SECRETS = new RegExp([...SECRET_SHAPES, ...EXTRA_SECRETS].map(([, source]) => `(${source.replace(/\((?!\?)/g, "(?:")})`).join("|"), "g");

// The order markers, in as few passes as their flags allow; invisible characters as runs.
const INJECTIONS: RegExp[] = [
  new RegExp(ORDER_MARKERS.filter((m) => m.test.flags.includes("i")).map((m) => `(?:${m.test.source})`).join("|"), "gi"),
  ...ORDER_MARKERS.filter((m) => !m.test.flags.includes("i")).map((m) => new RegExp(m.test.source, "g")),
];
const INVISIBLE_RUN = new RegExp(`${INVISIBLE.source}+`, "gu");
// Results carry emoji, which definitions rarely do: a zero-width joiner between
// pictographs (👨‍👩‍👧) and the tag characters of a subdivision flag (🏴 + tags) are not hidden text.
const PICTOGRAPH = /(?:\p{Extended_Pictographic}|\p{Emoji_Modifier})\uFE0F?$/u;
const PICTOGRAPH_AHEAD = /^\p{Extended_Pictographic}/u;
const BLACK_FLAG = "\u{1F3F4}";
const FLAG_TAGS = /^[\u{E0020}-\u{E007E}]+\u{E007F}$/u;

type Finding = { start: number; end: number; kind: string; detector: Detector };
type Compiled = { index: number; rule: Rule; applies: (target: string) => boolean; detectors: Detector[] };

export class Guardrails {
  private readonly results: Compiled[];
  private readonly arguments: Compiled[];

  private constructor(
    rules: readonly Rule[],
    private readonly record: RecordEvent,
  ) {
    const compiled = rules.map((rule, index) => ({
      index,
      rule,
      applies: rule.tools === undefined ? () => true : compileGlobs(typeof rule.tools === "string" ? [rule.tools] : rule.tools),
      detectors: [...new Set(rule.detect)],
    }));
    this.results = compiled.filter((c) => c.rule.scan !== "arguments");
    this.arguments = compiled.filter((c) => c.rule.scan !== "results");
  }

  /** null when there are no rules: nothing is scanned. */
  static compile(rules: readonly Rule[], record: RecordEvent): Guardrails | null {
    return rules.length === 0 ? null : new Guardrails(rules, record);
  }

  /** Whether a result of `target` is scanned at all (a large result is parsed only then). */
  scansResultsOf(target: string): boolean {
    return this.results.some((c) => c.applies(target));
  }

  /** A tool result (content, structuredContent, embedded resources) or a resources/read result (contents). */
  scanResult(target: string, result: Json): GuardrailVerdict<Json> {
    const rules = this.results.filter((c) => c.applies(target));
    if (rules.length === 0) return PASS;
    const verdict = this.scan(rules, "result", target, (f) => mapResult(result, f));
    if (verdict.verdict !== "redacted") return verdict;
    const meta = typeof result._meta === "object" && result._meta !== null ? (result._meta as Json) : {};
    return { ...verdict, value: { ...verdict.value, _meta: { ...meta, [GUARDRAILS_META]: { redacted: verdict.found } } } };
  }

  /** A tool's arguments: every string in them. */
  scanArguments(target: string, args: unknown): GuardrailVerdict<unknown> {
    const rules = this.arguments.filter((c) => c.applies(target));
    if (rules.length === 0 || args === undefined) return PASS;
    return this.scan(rules, "arguments", target, (f) => mapDeep(args, f));
  }

  /** `walk` visits the strings in a fixed order and rebuilds the value from what the visitor returns. */
  private scan<T>(rules: Compiled[], where: string, target: string, walk: (visit: (s: string) => string) => T): GuardrailVerdict<T> {
    const texts: string[] = [];
    walk((s) => {
      texts.push(s);
      return s;
    });
    if (texts.length === 0) return PASS;
    const text = texts.length === 1 ? texts[0]! : texts.join(SEPARATOR);
    const wanted = new Set(rules.flatMap((c) => c.detectors));
    const findings: Finding[] = [];
    if (wanted.has("secrets")) findSecrets(text, findings);
    if (wanted.has("injection")) findInjections(text, findings);
    if (findings.length === 0) return PASS;

    const hits = rules
      .map((c) => ({ c, kinds: unique(findings.filter((f) => c.detectors.includes(f.detector)).map((f) => f.kind)) }))
      .filter((h) => h.kinds.length > 0);
    if (hits.length === 0) return PASS;
    // A URI can hold a secret too: the event and the error name the target without it.
    const named = redactValue(target);
    for (const { c, kinds } of hits) {
      for (const kind of kinds) this.record("guardrail", `${c.rule.action} ${kind} in the ${where} of ${named} (guardrails[${c.index}])`);
    }
    const found = unique(hits.flatMap((h) => h.kinds));
    const block = hits.find((h) => h.c.rule.action === "block");
    if (block) return { verdict: "blocked", error: new GuardrailBlocked(block.c.index, block.kinds[0]!, where, named), found };

    const redacting = new Set(hits.filter((h) => h.c.rule.action === "redact").flatMap((h) => h.c.detectors));
    const cut = findings.filter((f) => redacting.has(f.detector));
    if (cut.length === 0) return { verdict: "warned", found };
    const replaced = redactTexts(texts, cut);
    let i = 0;
    const value = walk(() => replaced[i++]!);
    return { verdict: "redacted", value, found: unique(cut.map((f) => f.kind)) };
  }
}

function findSecrets(text: string, out: Finding[]): void {
  SECRETS.lastIndex = 0;
  for (let m = SECRETS.exec(text); m; m = SECRETS.exec(text)) {
    let g = 1;
    while (m[g] === undefined) g++;
    out.push({ start: m.index, end: m.index + m[0].length, kind: SECRET_KINDS[g - 1]!, detector: "secrets" });
  }
}

function findInjections(text: string, out: Finding[]): void {
  for (const re of INJECTIONS) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      out.push({ start: m.index, end: m.index + m[0].length, kind: "injection", detector: "injection" });
    }
  }
  INVISIBLE_RUN.lastIndex = 0;
  for (let m = INVISIBLE_RUN.exec(text); m; m = INVISIBLE_RUN.exec(text)) {
    if (!isEmoji(text, m.index, m[0])) out.push({ start: m.index, end: m.index + m[0].length, kind: "injection", detector: "injection" });
  }
}

function isEmoji(text: string, at: number, run: string): boolean {
  const before = text.slice(Math.max(0, at - 3), at);
  if (run === "\u200D") return PICTOGRAPH.test(before) && PICTOGRAPH_AHEAD.test(text.slice(at + 1, at + 3));
  // A flag's tags are E0020-E007E ended by E007F, right after the black flag.
  return before.endsWith(BLACK_FLAG) && FLAG_TAGS.test(run);
}

/**
 * The texts with each finding replaced by `[REDACTED:<kind>]`; the findings are
 * offsets in the texts joined by SEPARATOR, and one that spans texts is cut in each.
 */
function redactTexts(texts: string[], findings: Finding[]): string[] {
  const sorted = findings.slice().sort((a, b) => a.start - b.start || b.end - a.end);
  // Overlapping findings become one, named by the first.
  const merged: Finding[] = [];
  for (const f of sorted) {
    const last = merged.at(-1);
    if (last && f.start < last.end) last.end = Math.max(last.end, f.end);
    else merged.push({ ...f });
  }
  const out: string[] = [];
  let k = 0;
  let base = 0;
  for (const t of texts) {
    const end = base + t.length;
    let s = "";
    let at = 0;
    let touched = false;
    while (k < merged.length && merged[k]!.start < end) {
      const f = merged[k]!;
      const from = Math.max(f.start - base, 0);
      s += t.slice(at, from) + `[REDACTED:${f.kind}]`;
      at = Math.min(f.end - base, t.length);
      touched = true;
      if (f.end > end) break; // it goes on into the next text
      k++;
    }
    out.push(touched ? s + t.slice(at) : t);
    base = end + SEPARATOR.length;
    while (k < merged.length && merged[k]!.end <= base) k++;
  }
  return out;
}

function unique(kinds: string[]): string[] {
  return [...new Set(kinds)];
}

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Copy-on-write map over the strings a model reads in a result. */
function mapResult(result: Json, f: (s: string) => string): Json {
  let out = result;
  if (Array.isArray(result.content)) {
    const content = mapArray(result.content, (b) => mapBlock(b, f));
    if (content !== result.content) out = { ...out, content };
  }
  if (result.structuredContent !== undefined) {
    const structured = mapDeep(result.structuredContent, f);
    if (structured !== result.structuredContent) out = { ...out, structuredContent: structured };
  }
  if (Array.isArray(result.contents)) {
    const contents = mapArray(result.contents, (c) => mapText(c, f));
    if (contents !== result.contents) out = { ...out, contents };
  }
  return out;
}

function mapBlock(block: unknown, f: (s: string) => string): unknown {
  if (!isObject(block)) return block;
  if (block.type === "text") return mapText(block, f);
  if (block.type === "resource" && isObject(block.resource)) {
    const resource = mapText(block.resource, f);
    return resource === block.resource ? block : { ...block, resource };
  }
  return block;
}

function mapText(item: unknown, f: (s: string) => string): unknown {
  if (!isObject(item) || typeof item.text !== "string") return item;
  const text = f(item.text);
  return text === item.text ? item : { ...item, text };
}

function mapArray(list: unknown[], f: (v: unknown) => unknown): unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < list.length; i++) {
    const v = f(list[i]);
    if (v !== list[i]) (out ??= list.slice())[i] = v;
  }
  return out ?? list;
}

/**
 * Every string value (not keys), however deep: no depth cap to hide a secret
 * behind, as messages are already within limits.*.depth (at most 10,000).
 */
function mapDeep(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === "string") return f(value);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return mapArray(value, (v) => mapDeep(v, f));
  let out: Json | null = null;
  for (const [k, v] of Object.entries(value)) {
    const next = mapDeep(v, f);
    if (next !== v) (out ??= { ...(value as Json) })[k] = next;
  }
  return out ?? value;
}
