// subscriptions/listen (MCP 2026-07-28): a modern client's standing request
// for the notifications it would get unasked in 2025: list changes, as that
// caller's roles see them, and updates of the resources it names. Each listen
// acknowledges what it honours first, tags every message with its own id, and
// is capped per principal; on shutdown it ends with a final result.

import { principalKey, type Principal } from "../auth/principal.ts";
import { InvalidParams, Overloaded } from "../errors.ts";
import type { JsonRpcId, Message, Params } from "../jsonrpc/message.ts";
import type { Policy } from "../pipeline/policy.ts";
import { META, MODERN_VERSION } from "../jsonrpc/mcp-meta.ts";
import { Session, type Front } from "../session/session.ts";
import type { Catalog } from "./catalog.ts";
import type { Subscriptions } from "./subscriptions.ts";

/** What a listen may ask for; what it is granted has the same shape. */
export type ListenFilter = {
  toolsListChanged?: boolean;
  promptsListChanged?: boolean;
  resourcesListChanged?: boolean;
  resourceSubscriptions?: string[];
};

// list_changed notification -> the filter key that asks for it
const LIST_KEYS: Record<string, keyof ListenFilter> = {
  "notifications/tools/list_changed": "toolsListChanged",
  "notifications/prompts/list_changed": "promptsListChanged",
  "notifications/resources/list_changed": "resourcesListChanged",
};

export type ListensDeps = {
  catalog: Catalog;
  policy: Policy;
  subscriptions: Subscriptions;
  /** Resolves when every backend has had its first chance to start (a listen opened earlier waits for it). */
  ready: Promise<void>;
  maxPerPrincipal: number;
  /** Told of each listen granted (the audit trail). */
  granted?: (identity: Principal, front: Front, granted: ListenFilter, view: string | null) => void;
};

export class Listen {
  private ended = false;
  /** Until acknowledged, what arrives waits: the acknowledgement must come first. */
  private waiting: Message[] | null = [];
  /** Delivery for the resource subscriptions it holds (subscriptions.ts keys them by session). */
  readonly session: Session;

  constructor(
    readonly id: JsonRpcId,
    readonly identity: Principal,
    front: Front,
    readonly granted: ListenFilter,
    private readonly write: (m: Message) => void,
    private readonly onEnd: (l: Listen) => void,
    /** The view it was opened in (/mcp/<view>, --view): what it is told of follows it. */
    view: string | null = null,
  ) {
    this.session = new Session(`listen:${String(id)}`, front, identity, (m) => this.deliver(m), view);
    this.session.protocolVersion = MODERN_VERSION;
  }

  /** Sends a notification the listen asked for, tagged with its id. */
  deliver(m: Message): void {
    if (this.ended || !("method" in m) || "id" in m) return;
    const key = LIST_KEYS[m.method];
    if (key ? !this.granted[key] : m.method !== "notifications/resources/updated") return;
    const params = (m.params ?? {}) as Params;
    const tagged: Message = { jsonrpc: "2.0", method: m.method, params: { ...params, _meta: { ...(params._meta as object), [META.subscriptionId]: this.id } } };
    if (this.waiting) this.waiting.push(tagged);
    else this.write(tagged);
  }

  acknowledge(): void {
    this.write({
      jsonrpc: "2.0",
      method: "notifications/subscriptions/acknowledged",
      params: { notifications: this.granted, _meta: { [META.subscriptionId]: this.id } },
    });
    const waiting = this.waiting ?? [];
    this.waiting = null;
    for (const m of waiting) this.write(m);
  }

  /** Ends it: with a final result when Sentinel ends it (shutdown), silently when the client did. */
  end(final: boolean): void {
    if (this.ended) return;
    if (final) this.write({ jsonrpc: "2.0", id: this.id, result: { resultType: "complete", _meta: { [META.subscriptionId]: this.id } } });
    this.ended = true;
    this.session.close("listen ended");
    this.onEnd(this);
  }
}

export class Listens {
  private readonly open = new Set<Listen>();
  private readonly perPrincipal = new Map<string, number>();

  constructor(private readonly deps: ListensDeps) {}

  get size(): number {
    return this.open.size;
  }

  /** Every open listen (the gateway announces list changes to them as to sessions). */
  values(): IterableIterator<Listen> {
    return this.open.values();
  }

  /**
   * Opens a listen and grants what Sentinel can honour: list changes always,
   * resources the caller may see at backends that support subscriptions.
   * The caller acknowledges it (the first message it sends) before anything else.
   */
  async listen(
    front: Front,
    identity: Principal,
    id: JsonRpcId,
    params: Params,
    write: (m: Message) => void,
    view: string | null = null,
  ): Promise<Listen> {
    const asked = params.notifications;
    if (typeof asked !== "object" || asked === null || Array.isArray(asked)) {
      throw new InvalidParams('Invalid params: "notifications" must be an object');
    }
    const who = principalKey(identity);
    const n = this.perPrincipal.get(who) ?? 0;
    if (n >= this.deps.maxPerPrincipal) throw new Overloaded(`Too many open listens for ${identity.sub} (${this.deps.maxPerPrincipal}); close some first`, 5);
    this.perPrincipal.set(who, n + 1);
    const filter = asked as Record<string, unknown>;
    const granted: ListenFilter = {};
    for (const key of ["toolsListChanged", "promptsListChanged", "resourcesListChanged"] as const) if (filter[key] === true) granted[key] = true;
    const listen = new Listen(id, identity, front, granted, write, (l) => this.ended(l), view);
    this.open.add(listen);
    const uris = Array.isArray(filter.resourceSubscriptions) ? filter.resourceSubscriptions.filter((u): u is string => typeof u === "string") : [];
    if (uris.length) granted.resourceSubscriptions = await this.subscribe(listen, uris);
    this.deps.granted?.(identity, front, granted, view);
    return listen;
  }

  endAll(): void {
    for (const l of [...this.open]) l.end(true);
  }

  private async subscribe(listen: Listen, uris: string[]): Promise<string[]> {
    const { catalog, policy, subscriptions } = this.deps;
    // A URI nobody offers yet may be a backend's still starting.
    if (uris.some((u) => !catalog.resourceOwner(u))) await this.deps.ready;
    const granted: string[] = [];
    await Promise.all(
      uris.map(async (uri) => {
        const owner = catalog.resourceOwner(uri);
        // Unknown and invisible alike are simply not granted: a listen does not reveal what exists.
        if (!owner || !policy.visible(listen.identity, "resource", uri, owner.name, listen.session.view)) return;
        if (!(owner.capabilities.resources as { subscribe?: boolean } | undefined)?.subscribe) return;
        try {
          await subscriptions.subscribe(listen.session, owner, uri);
          granted.push(uri);
        } catch {
          // The backend refused: not granted.
        }
      }),
    );
    return uris.filter((u) => granted.includes(u));
  }

  private ended(listen: Listen): void {
    if (!this.open.delete(listen)) return;
    const who = principalKey(listen.identity);
    const n = (this.perPrincipal.get(who) ?? 1) - 1;
    if (n > 0) this.perPrincipal.set(who, n);
    else this.perPrincipal.delete(who);
  }
}
