// Per-tool shaping (config `shaping`): what clients read of a tool and what its
// calls carry, changed after pinning has judged the backend's own definition.
// Rules are looked up by exposed name: an exact key first, then globs in config order.

import type { Item } from "../backends/backend.ts";
import type { Config } from "../config/load.ts";
import { compileGlob, isGlob } from "../policy/glob.ts";

export type ToolShaping = Config["shaping"][string];

/** What a call to a shaped tool gets merged into its arguments. */
export type ArgumentShaping = { defaults: Record<string, unknown>; fixed: Record<string, unknown> };

/** The hint Claude Code reads to load a tool at once when it defers the others (tool search). */
export const ALWAYS_LOAD = "anthropic/alwaysLoad";

export class Shaper {
  private constructor(
    private readonly exact: ReadonlyMap<string, ToolShaping>,
    private readonly globs: readonly [RegExp, ToolShaping][],
  ) {}

  static compile(shaping: Config["shaping"]): Shaper {
    const exact = new Map<string, ToolShaping>();
    const globs: [RegExp, ToolShaping][] = [];
    for (const [key, rule] of Object.entries(shaping)) {
      if (isGlob(key)) globs.push([compileGlob(key), rule]);
      else exact.set(key, rule);
    }
    return new Shaper(exact, globs);
  }

  rule(exposed: string): ToolShaping | undefined {
    return this.exact.get(exposed) ?? this.globs.find(([re]) => re.test(exposed))?.[1];
  }
}

/** The tool item as clients list it under `exposed`, with the rule's overrides. */
export function shapeTool(item: Item, exposed: string, rule: ToolShaping | undefined): Item {
  const shaped: Item = exposed === item.name ? item : { ...item, name: exposed };
  if (!rule) return shaped;
  const out: Item = shaped === item ? { ...item } : shaped;
  if (rule.title !== undefined) out.title = rule.title;
  if (rule.description !== undefined) out.description = rule.description;
  if (rule.defaults || rule.fixed) out.inputSchema = shapeSchema(item.inputSchema, rule.defaults ?? {}, rule.fixed ?? {});
  if (rule.alwaysLoad) out._meta = { ...(item._meta as Record<string, unknown> | undefined), [ALWAYS_LOAD]: true };
  return out;
}

/**
 * Fixed arguments leave the schema (the caller can neither see nor set them);
 * defaulted ones get their `default` and are no longer required.
 */
function shapeSchema(schema: unknown, defaults: Record<string, unknown>, fixed: Record<string, unknown>): unknown {
  if (typeof schema !== "object" || schema === null) return schema;
  const s = schema as Record<string, unknown>;
  const properties = { ...(s.properties as Record<string, unknown> | undefined) };
  for (const key of Object.keys(fixed)) delete properties[key];
  for (const [key, value] of Object.entries(defaults)) {
    const p = properties[key];
    if (typeof p === "object" && p !== null && !Object.hasOwn(fixed, key)) properties[key] = { ...p, default: value };
  }
  const out: Record<string, unknown> = { ...s, properties };
  if (Array.isArray(s.required)) out.required = s.required.filter((k) => !Object.hasOwn(fixed, k) && !Object.hasOwn(defaults, k));
  return out;
}

/** The argument part of a rule, or undefined when it changes no arguments. */
export function argumentShaping(rule: ToolShaping | undefined): ArgumentShaping | undefined {
  if (!rule?.defaults && !rule?.fixed) return undefined;
  return { defaults: rule.defaults ?? {}, fixed: rule.fixed ?? {} };
}

/** The arguments as they reach the backend: defaults under the caller's, fixed values over them. */
export function mergeArguments(args: unknown, shaping: ArgumentShaping): unknown {
  if (args !== undefined && (typeof args !== "object" || args === null || Array.isArray(args))) return args;
  return { ...shaping.defaults, ...(args as Record<string, unknown> | undefined), ...shaping.fixed };
}

/** What `sentinel tools` marks a shaped tool with. */
export function marksOf(rule: ToolShaping | undefined, renamed: boolean): string[] {
  if (!rule) return [];
  const marks: string[] = renamed ? ["renamed"] : [];
  for (const key of ["title", "description", "defaults", "fixed", "alwaysLoad"] as const) {
    if (rule[key] !== undefined && rule[key] !== false) marks.push(key);
  }
  return marks;
}
