// API keys for service accounts. The config holds only SHA-256 hashes: the keys
// are 256 random bits, so a fast unsalted hash is as strong as a slow one and
// a leaked config reveals no usable key.

import { sha256Hex } from "../sha256.ts";
import type { ApiKey } from "../config/load.ts";
import { ConfigError } from "../errors.ts";
import type { Principal } from "./principal.ts";

const HASH = /^sha256:([0-9a-f]{64})$/;

/** What goes into auth.apiKeys[].hash. */
export function hashApiKey(key: string): string {
  return `sha256:${sha256Hex(key)}`;
}

export function generateApiKey(): string {
  return `sk-sentinel-${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
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
    const digest = new Bun.CryptoHasher("sha256").update(key).digest();
    // Every hash is compared, match or not, so the time taken tells nothing about which one matched.
    let found: Principal | null = null;
    for (const e of entries) {
      if (constantTimeEqual(digest, e.digest)) found = e.principal;
    }
    return found;
  };
}

/** Compares two digests in time that depends only on their length. */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
