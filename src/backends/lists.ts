// The four lists a backend offers (tools, prompts, resources, resource
// templates): which method fetches each, which capability offers it, which
// list_changed invalidates it; fetching one whole, every page; and screening
// a modern HTTP backend's tools for their x-mcp-header annotations (§1.10).

import type { Logger } from "../log.ts";
import { scanParamHeaders, type ParamHeader } from "./modern-headers.ts";
import type { Result } from "./request.ts";

export type Item = Record<string, unknown>;

/** What a backend offers, exactly as it listed it. */
export type BackendCatalog = { tools: Item[]; prompts: Item[]; resources: Item[]; resourceTemplates: Item[] };

export const EMPTY: BackendCatalog = { tools: [], prompts: [], resources: [], resourceTemplates: [] };

// list method -> result key; the list_changed notification that invalidates it
export const LISTS = {
  tools: { method: "tools/list", capability: "tools", changed: "notifications/tools/list_changed" },
  prompts: { method: "prompts/list", capability: "prompts", changed: "notifications/prompts/list_changed" },
  resources: { method: "resources/list", capability: "resources", changed: "notifications/resources/list_changed" },
  resourceTemplates: { method: "resources/templates/list", capability: "resources", changed: "notifications/resources/list_changed" },
} as const;
export type ListKey = keyof typeof LISTS;

/** Every page of one list (clients get Sentinel's merged list, paged by Sentinel); none if the capability is not offered. */
export async function fetchList(
  key: ListKey,
  capabilities: Record<string, unknown>,
  send: (method: string, params: { cursor: string } | undefined) => Promise<Result>,
): Promise<Item[]> {
  const spec = LISTS[key];
  if (!(spec.capability in capabilities)) return [];
  const items: Item[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await send(spec.method, cursor ? { cursor } : undefined);
    const list = result[key];
    if (Array.isArray(list)) items.push(...(list as Item[]));
    cursor = typeof result.nextCursor === "string" ? result.nextCursor : undefined;
    if (!cursor) break;
  }
  return items;
}

/** The tools whose x-mcp-header annotations are valid (the others are dropped, and logged), and each one's annotated arguments. */
export function screenParamHeaders(tools: Item[], log: Logger): { kept: Item[]; headers: Map<string, ParamHeader[]> } {
  const headers = new Map<string, ParamHeader[]>();
  const kept = tools.filter((tool) => {
    const scan = scanParamHeaders(tool.inputSchema);
    if (!scan.valid) {
      log.warn(`tool ${String(tool.name)} left out: ${scan.reason}`);
      return false;
    }
    if (scan.params.length > 0) headers.set(String(tool.name), scan.params);
    return true;
  });
  return { kept, headers };
}
