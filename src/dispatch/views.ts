// What each caller may see of the merged catalog. Identities with the same
// roles see the same lists, so views are built once per role set and catalog
// version, not per request.

import type { Backend, Item } from "../backends/backend.ts";
import type { Identity } from "../config/load.ts";
import type { Policy } from "../pipeline/policy.ts";
import type { Catalog } from "./catalog.ts";

export type Lists = Catalog["lists"];
type Signature = Record<keyof Lists, string>;
type View = { version: number; lists: Lists; signature: Signature };

const EMPTY: Signature = { tools: "[]", prompts: "[]", resources: "[]", resourceTemplates: "[]" };

export class Views {
  private readonly cache = new Map<string, View>();
  /** What was last announced (or first listed) per role set; before either, empty lists. */
  private readonly announced = new Map<string, Signature>();

  constructor(
    private readonly catalog: Catalog,
    private readonly policy: Policy,
  ) {}

  lists(identity: Identity): Lists {
    const view = this.view(identity);
    // What a role set first lists is its baseline: only later changes are announced.
    const key = this.policy.viewKey(identity);
    if (!this.announced.has(key)) this.announced.set(key, view.signature);
    return view.lists;
  }

  /**
   * Which lists changed for `identity`'s role set since the last call for that
   * role set, for list_changed notifications. Call once per role set per rebuild.
   */
  changed(identity: Identity): (keyof Lists)[] {
    const key = this.policy.viewKey(identity);
    const before = this.announced.get(key) ?? EMPTY;
    const now = this.view(identity).signature;
    this.announced.set(key, now);
    return (Object.keys(now) as (keyof Lists)[]).filter((k) => before[k] !== now[k]);
  }

  /** Which lists differ between what two role sets see now. */
  differing(a: Identity, b: Identity): (keyof Lists)[] {
    const before = this.view(a).signature;
    const after = this.view(b).signature;
    return (Object.keys(after) as (keyof Lists)[]).filter((k) => before[k] !== after[k]);
  }

  /**
   * Whether `identity` sees any item `backend` offers in list `key`: a change the
   * backend announces there may be told to it even when the list looks the same
   * (it reveals nothing that caller cannot list).
   */
  shows(identity: Identity, backend: Backend, key: keyof Lists): boolean {
    const { catalog, policy } = this;
    const name = backend.name;
    if (key === "tools" || key === "prompts") {
      const kind = key === "tools" ? "tool" : "prompt";
      for (const [exposed, e] of catalog[key]) if (e.backend === backend && policy.visible(identity, kind, exposed, name)) return true;
      return false;
    }
    if (key === "resources") return [...catalog.resources].some(([uri, e]) => e.backend === backend && policy.visible(identity, "resource", uri, name));
    return catalog.templates.some((t) => t.backend === backend && policy.visible(identity, "resource", String(t.item.uriTemplate), name));
  }

  private view(identity: Identity): View {
    const key = this.policy.viewKey(identity);
    const cached = this.cache.get(key);
    if (cached && cached.version === this.catalog.version) return cached;
    const lists = this.build(identity);
    const signature = {
      tools: JSON.stringify(lists.tools),
      prompts: JSON.stringify(lists.prompts),
      resources: JSON.stringify(lists.resources),
      resourceTemplates: JSON.stringify(lists.resourceTemplates),
    };
    const view = { version: this.catalog.version, lists, signature };
    this.cache.set(key, view);
    return view;
  }

  private build(identity: Identity): Lists {
    const { catalog, policy } = this;
    const pick = (kind: "tool" | "prompt", entries: Catalog["tools"]): Item[] => {
      const out: Item[] = [];
      for (const [name, e] of entries) if (policy.visible(identity, kind, name, e.backend.name)) out.push(e.item);
      return out;
    };
    return {
      tools: pick("tool", catalog.tools),
      prompts: pick("prompt", catalog.prompts),
      resources: [...catalog.resources].filter(([uri, e]) => policy.visible(identity, "resource", uri, e.backend.name)).map(([, e]) => e.item),
      resourceTemplates: catalog.templates
        .filter((t) => policy.visible(identity, "resource", String(t.item.uriTemplate), t.backend.name))
        .map((t) => t.item),
    };
  }
}
