// The HTTP headers a modern (2026-07-28) request carries beside its body, so
// that intermediaries can route without parsing JSON: Mcp-Method, Mcp-Name,
// and Mcp-Param-{Name} for tool arguments whose schema carries x-mcp-header
// (SEP-2243). A server checks them against the body and answers -32020 if
// they differ, so they are derived from the exact body sent.

import type { Request } from "../jsonrpc/message.ts";
import { MODERN_VERSION } from "../jsonrpc/mcp-meta.ts";
import { isObject } from "./modern-envelope.ts";

/** One annotated argument: where it is in `arguments`, and the header that mirrors it. */
export type ParamHeader = { path: readonly string[]; header: string };

export type HeaderScan = { valid: true; params: ParamHeader[] } | { valid: false; reason: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRIMITIVE = new Set(["string", "integer", "boolean"]);
// Keywords under which an annotation is not reachable through `properties` alone.
const UNREACHABLE = ["items", "prefixItems", "contains", "additionalProperties", "unevaluatedProperties", "unevaluatedItems", "propertyNames", "patternProperties", "dependentSchemas", "oneOf", "anyOf", "allOf", "not", "if", "then", "else", "$defs", "definitions"];
const MAPS = new Set(["patternProperties", "dependentSchemas", "$defs", "definitions"]);

/**
 * The x-mcp-header annotations of a tool's inputSchema. Valid only on
 * string, integer or boolean properties reached through `properties` chains,
 * as RFC 9110 tokens unique regardless of case; a client drops a tool whose
 * annotations break these rules (§1.10).
 */
export function scanParamHeaders(inputSchema: unknown): HeaderScan {
  const params: ParamHeader[] = [];
  const seen = new Set<string>();
  const visit = (node: unknown, path: string[], reachable: boolean): string | null => {
    if (!isObject(node)) return null;
    if ("x-mcp-header" in node) {
      const name = node["x-mcp-header"];
      const where = path.join(".") || "<root>";
      if (!reachable || path.length === 0) return `${where}: x-mcp-header outside a chain of properties`;
      if (typeof name !== "string" || !TOKEN.test(name)) return `${where}: x-mcp-header is not a header name`;
      if (typeof node.type !== "string" || !PRIMITIVE.has(node.type)) return `${where}: x-mcp-header on a ${String(node.type ?? "untyped")} property`;
      if (seen.has(name.toLowerCase())) return `x-mcp-header ${name} is declared twice`;
      seen.add(name.toLowerCase());
      params.push({ path: [...path], header: `mcp-param-${name}` });
    }
    if (isObject(node.properties)) {
      for (const [key, child] of Object.entries(node.properties)) {
        const fault = visit(child, [...path, key], reachable);
        if (fault) return fault;
      }
    }
    for (const k of UNREACHABLE) {
      const sub = node[k];
      if (sub === undefined) continue;
      const branches = Array.isArray(sub) ? sub : MAPS.has(k) && isObject(sub) ? Object.values(sub) : [sub];
      for (const b of branches) {
        const fault = visit(b, [...path, `<${k}>`], false);
        if (fault) return fault;
      }
    }
    return null;
  };
  const fault = visit(inputSchema, [], true);
  return fault ? { valid: false, reason: fault } : { valid: true, params };
}

/**
 * A header value: visible ASCII as it is, anything else (and anything that
 * looks like the encoded form) as =?base64?<UTF-8 in base64>?=.
 */
export function encodeHeaderValue(value: string): string {
  const plain = value.length > 0 && value === value.trim() && /^[\x20-\x7e\t]*$/.test(value) && !(value.startsWith("=?base64?") && value.endsWith("?="));
  return plain ? value : `=?base64?${Buffer.from(value, "utf8").toString("base64")}?=`;
}

function headerText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

/** What Mcp-Name names for a method: the tool or prompt, the resource, the task. */
function nameOf(r: Request): unknown {
  const p = r.params;
  if (!p) return undefined;
  switch (r.method) {
    case "tools/call":
    case "prompts/get":
      return p.name;
    case "resources/read":
      return p.uri;
  }
  return r.method.startsWith("tasks/") ? p.taskId : undefined;
}

/** Every header of one modern POST; `params`: the tool's annotated arguments, if any. */
export function modernHeaders(r: Request, params: readonly ParamHeader[] | undefined): Record<string, string> {
  const h: Record<string, string> = { "mcp-protocol-version": MODERN_VERSION, "mcp-method": r.method };
  const name = headerText(nameOf(r));
  if (name !== undefined) h["mcp-name"] = encodeHeaderValue(name);
  if (params) {
    for (const p of params) {
      let v: unknown = r.params?.arguments;
      for (const key of p.path) v = isObject(v) ? v[key] : undefined;
      const text = headerText(v);
      if (text !== undefined) h[p.header] = encodeHeaderValue(text);
    }
  }
  return h;
}
