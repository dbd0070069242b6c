// Which algorithms a JWT may use and which key checks each, decided once from
// the config. Symmetric and public-key algorithms never share a key: an HS*
// token is checked against the secret only and anything else against the JWKS
// only, so a public key can never be abused as an HMAC secret.

import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import type { JwtConfig } from "../config/load.ts";
import { ConfigError } from "../errors.ts";

const SYMMETRIC = ["HS256", "HS384", "HS512"];
const ASYMMETRIC = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];
/** Without `algorithms`, what each kind of key accepts: the common choice of each family. */
const DEFAULT_SYMMETRIC = ["HS256"];
const DEFAULT_ASYMMETRIC = ["RS256", "ES256", "EdDSA", "PS256"];

export type JwtKeys = {
  algorithms: string[];
  key: JWTVerifyGetKey;
};

export type JwtKeyOptions = {
  /** Least time between two JWKS refetches caused by an unknown kid (jose's default: 30 s). */
  jwksCooldownMs?: number;
};

/** The JWKS could not be fetched or read: the gateway's problem, not the token's. */
export class JwksUnavailable extends Error {
  constructor(cause: unknown) {
    super(`JWKS unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "JwksUnavailable";
  }
}

export function isSymmetric(alg: string): boolean {
  return SYMMETRIC.includes(alg);
}

/**
 * Throws a ConfigError listing every problem, so a bad key fails at start, not at the first request.
 * What the config schema checks (a secret or a JWKS, the secret's length) is not checked again here.
 */
export function jwtKeys(config: JwtConfig, opts: JwtKeyOptions = {}): JwtKeys {
  const issues: string[] = [];
  const algorithms = config.algorithms ?? [
    ...(config.secret !== undefined ? DEFAULT_SYMMETRIC : []),
    ...(config.jwks !== undefined ? DEFAULT_ASYMMETRIC : []),
  ];
  if (config.algorithms?.length === 0) issues.push("auth.jwt.algorithms: expected at least one algorithm");
  for (const alg of algorithms) {
    if (isSymmetric(alg)) {
      if (config.secret === undefined) issues.push(`auth.jwt.algorithms: ${alg} needs auth.jwt.secret`);
    } else if (ASYMMETRIC.includes(alg)) {
      if (config.jwks === undefined) issues.push(`auth.jwt.algorithms: ${alg} needs auth.jwt.jwks`);
    } else {
      // "none" above all: an unsigned token must never pass.
      issues.push(`auth.jwt.algorithms: ${JSON.stringify(alg)} is not supported`);
    }
  }

  const secret = config.secret !== undefined ? new TextEncoder().encode(config.secret) : null;
  const jwks = config.jwks !== undefined ? jwkSet(config.jwks, opts, issues) : null;
  if (issues.length > 0) throw new ConfigError(issues);

  const key: JWTVerifyGetKey = async (header, token) => {
    // jose has already refused an algorithm outside `algorithms`; this keeps the
    // two key kinds apart even if that list were ever wrong.
    const alg = header.alg ?? "";
    if (isSymmetric(alg)) {
      if (secret) return secret;
    } else if (ASYMMETRIC.includes(alg) && jwks) {
      try {
        return await jwks(header, token);
      } catch (err) {
        // These are about the token (unknown kid, odd alg); anything else is a fetch or JWKS failure.
        if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys || err instanceof errors.JOSENotSupported) throw err;
        throw new JwksUnavailable(err);
      }
    }
    throw new errors.JOSEAlgNotAllowed('"alg" (Algorithm) Header Parameter value not allowed');
  };
  return { algorithms, key };
}

function jwkSet(source: string, opts: JwtKeyOptions, issues: string[]): JWTVerifyGetKey | null {
  if (/^https?:\/\//.test(source)) {
    let url: URL;
    try {
      url = new URL(source);
    } catch {
      issues.push(`auth.jwt.jwks: ${JSON.stringify(source)} is not a valid URL`);
      return null;
    }
    // Fetched on first use, refetched when a token names an unknown kid (key rotation).
    return createRemoteJWKSet(url, opts.jwksCooldownMs !== undefined ? { cooldownDuration: opts.jwksCooldownMs } : {});
  }
  let jwks: JSONWebKeySet;
  try {
    jwks = JSON.parse(readFileSync(source, "utf8"));
  } catch (err) {
    issues.push(`auth.jwt.jwks: cannot read ${source}: ${(err as Error).message}`);
    return null;
  }
  const problem = jwksProblem(jwks);
  if (problem) {
    issues.push(`auth.jwt.jwks: ${source}: ${problem}`);
    return null;
  }
  try {
    return createLocalJWKSet(jwks);
  } catch (err) {
    issues.push(`auth.jwt.jwks: ${source}: ${(err as Error).message}`);
    return null;
  }
}

/** jose would only notice these when a token arrives; a misplaced key file should stop the start instead. */
function jwksProblem(jwks: unknown): string | null {
  const keys = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) return 'expected a JWKS: {"keys": [...]}';
  if (keys.length === 0) return "the JWKS has no keys";
  for (const [i, k] of keys.entries()) {
    if (typeof k !== "object" || k === null) return `key ${i + 1} is not an object`;
    if ("d" in k) return `key ${i + 1} is a private key; publish only public keys`;
    if (k.kty === "oct") return `key ${i + 1} is a symmetric key; put shared secrets in auth.jwt.secret`;
  }
  return null;
}
