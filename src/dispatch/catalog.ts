// The merged view of every ready backend's tools, prompts and resources, rebuilt
// whenever a backend changes (never per request). Lookups are by exposed name
// (tools, prompts) or URI (resources), each pointing at the owning backend.

import type { Backend, Item } from "../backends/backend.ts";
import { scanParamHeaders, type ParamHeader } from "../backends/modern-headers.ts";
import { logger } from "../log.ts";
import { exposedName } from "./names.ts";
import { argumentShaping, marksOf, Shaper, shapeTool, type ArgumentShaping, type ToolShaping } from "./shaping.ts";

const log = logger("catalog");

const NO_HEADERS: readonly ParamHeader[] = [];

export type Entry = {
  backend: Backend;
  name: string;
  item: Item;
  /** A shaped tool's argument defaults and fixed values, merged into every call. */
  args?: ArgumentShaping;
  /** What shaping changed, for `sentinel tools`. */
  shaped?: string[];
};
export type TemplateEntry = { backend: Backend; pattern: RegExp; item: Item };

export type Withheld = { backend: Backend; reason: string; name: string };

export type Collision = { exposed: string; kept: string; dropped: string };

export class Catalog {
  tools = new Map<string, Entry>();
  prompts = new Map<string, Entry>();
  resources = new Map<string, Entry>();
  templates: TemplateEntry[] = [];
  collisions: Collision[] = [];
  /** Each tool definition's Mcp-Param-* arguments, scanned once. */
  private readonly scans = new WeakMap<Item, readonly ParamHeader[]>();
  /** Bumped on every rebuild, so that views built from an older catalog are rebuilt. */
  version = 0;
  /** Tools withheld by pinning (changed or suspicious definitions): exposed name -> why (and the backend's own name). */
  withheld = new Map<string, Withheld>();
  /** The merged lists before any caller's filtering, built once per change. */
  lists: Record<"tools" | "prompts" | "resources" | "resourceTemplates", Item[]> = {
    tools: [],
    prompts: [],
    resources: [],
    resourceTemplates: [],
  };
  /** Tools that shaping hides: exposed name -> owner (not listed, not callable). */
  hidden = new Map<string, Entry>();
  /** Shaping renames already reported as colliding, so each is logged once. */
  private readonly badRenames = new Set<string>();
  /** Every name ever mapped for a backend, so calls to a backend that is down get a clear error. */
  private readonly known = new Map<string, Backend>();

  /**
   * Rebuilds from the ready backends. `admitTool` is the pinning check: a tool
   * it refuses is withheld (kept in `withheld`, not listed, not callable).
   * `shaping` (config) applies to what pinning admitted: pinning judges the
   * backend's own definition, so a shaped description cannot hide a rug pull.
   */
  rebuild(
    backends: Backend[],
    maxLength: number,
    admitTool: (backend: Backend, tool: Item) => string | null = () => null,
    shaping: Record<string, ToolShaping> = {},
  ): void {
    const tools = new Map<string, Entry>();
    const prompts = new Map<string, Entry>();
    const resources = new Map<string, Entry>();
    const templates: TemplateEntry[] = [];
    const collisions: Collision[] = [];
    const withheld = new Map<string, Withheld>();
    const hidden = new Map<string, Entry>();
    const shaper = Shaper.compile(shaping);
    const offered = backends.filter((b) => b.connected);
    const candidates = offered.flatMap((b) =>
      b.catalog.tools.map((item) => {
        const natural = exposedName(b.config.prefix, String(item.name), maxLength);
        return { backend: b, item, natural, rule: shaper.rule(natural) };
      }),
    );
    // A rename may not take a name another tool is exposed under (or an earlier rename took).
    const taken = new Set(candidates.filter((c) => !c.rule?.hide).map((c) => c.natural));
    for (const c of candidates) {
      let exposed = c.natural;
      const rename = c.rule?.hide ? undefined : c.rule?.rename;
      if (rename !== undefined && rename !== c.natural) {
        if (taken.has(rename)) this.badRename(`shaping: ${c.natural} cannot be renamed ${rename}: that name is taken; the rename is ignored`);
        else {
          taken.add(rename);
          exposed = rename;
        }
      }
      // Every tool is judged, hidden or not, on the backend's own definition.
      const refused = admitTool(c.backend, c.item);
      if (c.rule?.hide) {
        hidden.set(c.natural, { backend: c.backend, name: String(c.item.name), item: c.item });
        continue;
      }
      if (refused) {
        withheld.set(exposed, { backend: c.backend, reason: refused, name: String(c.item.name) });
        continue;
      }
      const item = shapeTool(c.item, exposed, c.rule);
      const args = argumentShaping(c.rule);
      const shaped = marksOf(c.rule, exposed !== c.natural);
      this.put(tools, "tool", c.backend, exposed, { backend: c.backend, name: String(c.item.name), item, ...(args && { args }), ...(shaped.length && { shaped }) }, collisions);
    }
    for (const b of offered) {
      const { prefix } = b.config;
      for (const item of b.catalog.prompts) this.add(prompts, "prompt", b, prefix, item, maxLength, collisions);
      for (const item of b.catalog.resources) {
        const uri = String(item.uri);
        if (!resources.has(uri)) resources.set(uri, { backend: b, name: uri, item });
      }
      for (const item of b.catalog.resourceTemplates) {
        templates.push({ backend: b, pattern: templatePattern(String(item.uriTemplate)), item });
      }
    }
    for (const c of collisions) {
      if (!this.collisions.some((o) => o.exposed === c.exposed && o.dropped === c.dropped)) {
        log.error(`name collision: ${c.exposed} is offered by ${c.kept} and ${c.dropped}; ${c.dropped}'s is hidden. Set a prefix.`);
      }
    }
    const lists = {
      tools: Array.from(tools.values(), (e) => e.item),
      prompts: Array.from(prompts.values(), (e) => e.item),
      resources: Array.from(resources.values(), (e) => e.item),
      resourceTemplates: templates.map((t) => t.item),
    };
    Object.assign(this, { tools, prompts, resources, templates, collisions, lists, withheld, hidden });
    this.version++;
  }

  entry(kind: "tool" | "prompt", name: string): Entry | undefined {
    return (kind === "tool" ? this.tools : this.prompts).get(name);
  }

  /** The arguments a tool's schema mirrors in Mcp-Param-* headers (SEP-2243); none for an unknown tool. */
  paramHeaders(name: string): readonly ParamHeader[] {
    const item = this.tools.get(name)?.item;
    if (!item) return NO_HEADERS;
    let scanned = this.scans.get(item);
    if (!scanned) {
      const scan = scanParamHeaders(item.inputSchema);
      scanned = scan.valid ? scan.params : NO_HEADERS;
      this.scans.set(item, scanned);
    }
    return scanned;
  }

  /** The backend that owned a name before it went down, if any. */
  formerOwner(kind: "tool" | "prompt", name: string): Backend | undefined {
    return this.known.get(`${kind}:${name}`);
  }

  /** The backend for a resource URI: listed URIs first, then URI templates. */
  resourceOwner(uri: string): Backend | undefined {
    const listed = this.resources.get(uri);
    if (listed) return listed.backend;
    return this.templates.find((t) => t.pattern.test(uri))?.backend;
  }

  private add(
    map: Map<string, Entry>,
    kind: "tool" | "prompt",
    backend: Backend,
    prefix: string,
    item: Item,
    maxLength: number,
    collisions: Collision[],
  ): void {
    const original = String(item.name);
    const exposed = exposedName(prefix, original, maxLength);
    this.put(map, kind, backend, exposed, { backend, name: original, item: exposed === original ? item : { ...item, name: exposed } }, collisions);
  }

  private put(map: Map<string, Entry>, kind: "tool" | "prompt", backend: Backend, exposed: string, entry: Entry, collisions: Collision[]): void {
    const existing = map.get(exposed);
    if (existing) {
      collisions.push({ exposed, kept: existing.backend.name, dropped: backend.name });
      return;
    }
    map.set(exposed, entry);
    this.known.set(`${kind}:${exposed}`, backend);
  }

  private badRename(problem: string): void {
    if (this.badRenames.has(problem)) return;
    this.badRenames.add(problem);
    log.error(problem);
  }
}

// What each RFC 6570 operator's expansion can look like. Reserved expansion may
// contain "/"; simple expansion may not; path-style ones repeat their prefix.
const OPERATOR_PATTERNS: Record<string, string> = {
  "": "[^/?#]*",
  "+": ".*",
  "#": "(?:#.*)?",
  "/": "(?:/[^/?#]*)*",
  ".": "(?:\\.[^/?#.]*)*",
  ";": "(?:;[^/?#;]*)*",
  "?": "(?:[?&].*)?",
  "&": "(?:&.*)?",
};

/** RFC 6570 template -> a regex that matches the URIs it can expand to. */
export function templatePattern(template: string): RegExp {
  let source = "";
  let last = 0;
  for (const m of template.matchAll(/\{([+#./;?&]?)[^}]*\}/g)) {
    source += escape(template.slice(last, m.index));
    source += OPERATOR_PATTERNS[m[1] ?? ""] ?? "[^/?#]*";
    last = m.index + m[0].length;
  }
  source += escape(template.slice(last));
  return new RegExp(`^${source}$`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
