// The names MCP 2026-07-28 gives what a request or result carries in _meta,
// shared by both ends: the fronts read them from clients, the backends write
// them to servers.

export const MODERN_VERSION = "2026-07-28";

export const META = {
  protocolVersion: "io.modelcontextprotocol/protocolVersion",
  clientCapabilities: "io.modelcontextprotocol/clientCapabilities",
  clientInfo: "io.modelcontextprotocol/clientInfo",
  logLevel: "io.modelcontextprotocol/logLevel",
  serverInfo: "io.modelcontextprotocol/serverInfo",
  subscriptionId: "io.modelcontextprotocol/subscriptionId",
} as const;

/** Revisions are dates: 2026-07-28 and later are stateless. */
export function isModernVersion(version: unknown): boolean {
  return typeof version === "string" && version >= MODERN_VERSION;
}
