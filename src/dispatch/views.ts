// What each caller may see of the merged catalog. Identities with the same
// roles in the same view (virtual server) see the same lists, so they are
// built once per role set, view and catalog version, not per request.

import type { Backend, Item } from "../backends/backend.ts";
import type { Identity } from "../config/load.ts";
import type { Policy } from "../pipeline/policy.ts";
import type { Catalog } from "./catalog.ts";

export type Lists = Catalog["lists"];
type Signature = Record<keyof Lists, string>;
type Built = { version: number; lists: Lists; signature: Signature };

const EMPTY: Signature = { tools: "[]", prompts: "[]", resources: "[]", resourceTemplates: "[]" };

export class Views {
  private readonly cache = new Map<string, Built>();
  /** What was last announced (or first listed) per role set; before either, empty lists. */
  private readonly announced = new Map<string, Signature>();

  constructor(
    private readonly catalog: Catalog,
    private readonly policy: Policy,
  ) {}

  lists(identity: Identity, view: string | null = null): Lists {
    const built = this.built(identity, view);
    // What a role set first lists is its baseline: only later changes are announced.
    const key = this.policy.viewKey(identity, view);
    if (!this.announced.has(key)) this.announced.set(key, built.signature);
    return built.lists;
  }

  /**
   * Which lists changed for `identity`'s role set since the last call for that
   * role set, for list_changed notifications. Call once per role set per rebuild.
   */
  changed(identity: Identity, view: string | null = null): (keyof Lists)[] {
    const key = this.policy.viewKey(identity, view);
    const before = this.announced.get(key) ?? EMPTY;
    const now = this.built(identity, view).signature;
    this.announced.set(key, now);
    return (Object.keys(now) as (keyof Lists)[]).filter((k) => before[k] !== now[k]);
  }

  /** Which lists differ between what two role sets see now. */
  differing(a: Identity, b: Identity, view: string | null = null): (keyof Lists)[] {
    const before = this.built(a, view).signature;
    const after = this.built(b, view).signature;
    return (Object.keys(after) as (keyof Lists)[]).filter((k) => before[k] !== after[k]);
  }

  /**
   * Whether `identity` sees any item `backend` offers in list `key`: a change the
   * backend announces there may be told to it even when the list looks the same
   * (it reveals nothing that caller cannot list).
   */
  shows(identity: Identity, backend: Backend, key: keyof Lists, view: string | null = null): boolean {
    const { catalog } = this;
    const name = backend.name;
    const visible = (kind: "tool" | "prompt" | "resource", exposed: string) => this.policy.visible(identity, kind, exposed, name, view);
    if (key === "tools" || key === "prompts") {
      const kind = key === "tools" ? "tool" : "prompt";
      for (const [exposed, e] of catalog[key]) if (e.backend === backend && visible(kind, exposed)) return true;
      return false;
    }
    if (key === "resources") return [...catalog.resources].some(([uri, e]) => e.backend === backend && visible("resource", uri));
    return catalog.templates.some((t) => t.backend === backend && visible("resource", String(t.item.uriTemplate)));
  }

  private built(identity: Identity, view: string | null): Built {
    const key = this.policy.viewKey(identity, view);
    const cached = this.cache.get(key);
    if (cached && cached.version === this.catalog.version) return cached;
    const lists = this.build(identity, view);
    const signature = {
      tools: JSON.stringify(lists.tools),
      prompts: JSON.stringify(lists.prompts),
      resources: JSON.stringify(lists.resources),
      resourceTemplates: JSON.stringify(lists.resourceTemplates),
    };
    const built = { version: this.catalog.version, lists, signature };
    this.cache.set(key, built);
    return built;
  }

  private build(identity: Identity, view: string | null): Lists {
    const { catalog, policy } = this;
    const pick = (kind: "tool" | "prompt", entries: Catalog["tools"]): Item[] => {
      const out: Item[] = [];
      for (const [name, e] of entries) if (policy.visible(identity, kind, name, e.backend.name, view)) out.push(e.item);
      return out;
    };
    return {
      tools: pick("tool", catalog.tools),
      prompts: pick("prompt", catalog.prompts),
      resources: [...catalog.resources].filter(([uri, e]) => policy.visible(identity, "resource", uri, e.backend.name, view)).map(([, e]) => e.item),
      resourceTemplates: catalog.templates
        .filter((t) => policy.visible(identity, "resource", String(t.item.uriTemplate), t.backend.name, view))
        .map((t) => t.item),
    };
  }
}
