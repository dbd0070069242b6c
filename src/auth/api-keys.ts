// API keys for service accounts. The config holds only SHA-256 hashes: the keys
// are 256 random bits, so a fast unsalted hash is as strong as a slow one and
// a leaked config reveals no usable key.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ApiKey } from "../config/load.ts";
import { ConfigError } from "../errors.ts";
import type { Principal } from "./principal.ts";

const HASH = /^sha256:([0-9a-f]{64})$/;

/** What goes into auth.apiKeys[].hash. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash("sha256").update(key, "utf8").digest("hex")}`;
}

export function generateApiKey(): string {
  return `sk-sentinel-${randomBytes(32).toString("base64url")}`;
}

export type ApiKeyLookup = (key: string) => Principal | null;

/** Built once; a malformed or repeated hash is a ConfigError at start. */
export function apiKeyLookup(keys: ApiKey[]): ApiKeyLookup {
  const issues: string[] = [];
  const entries = keys.map((k, i) => {
    const m = HASH.exec(k.hash);
    if (!m) issues.push(`auth.apiKeys[${i}].hash: expected "sha256:<64 hex>" from \`sentinel token hash\``);
    const principal: Principal = Object.freeze({ sub: k.name, roles: Object.freeze([...k.roles]) as string[], via: "apikey", expiresAt: null });
    return { digest: Buffer.from(m?.[1] ?? "", "hex"), principal, hash: k.hash };
  });
  entries.forEach((e, i) => {
    const first = entries.findIndex((x) => x.hash === e.hash);
    if (first !== i) issues.push(`auth.apiKeys[${i}]: same key as auth.apiKeys[${first}] (${keys[first]!.name}); a key must name one account`);
  });
  if (issues.length > 0) throw new ConfigError(issues);

  return function lookupApiKey(key: string): Principal | null {
    const digest = createHash("sha256").update(key, "utf8").digest();
    // Every hash is compared, match or not, so the time taken tells nothing about which one matched.
    let found: Principal | null = null;
    for (const e of entries) {
      if (timingSafeEqual(digest, e.digest)) found = e.principal;
    }
    return found;
  };
}
