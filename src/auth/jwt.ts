// Verifies a bearer JWT into a Principal: signature (with the algorithm and key
// rules of jwt-keys.ts), iss, aud, exp (required), nbf, sub (required), an
// optional lifetime cap, and the roles. Built once from the config.

import { errors, jwtVerify, type JWTPayload, type JWTVerifyOptions, type KeyObject } from "jose";
import type { JwtConfig } from "../config/load.ts";
import { Unauthenticated } from "../errors.ts";
import { logger } from "../log.ts";
import { JwksUnavailable, jwtKeys, type JwtKeyOptions } from "./jwt-keys.ts";
import type { Principal } from "./principal.ts";
import { rolesFromClaims } from "./roles.ts";
import { TokenCache } from "./token-cache.ts";

const log = logger("auth");

export type JwtVerifier = ((token: string) => Promise<Principal>) & {
  /** The principal of a token verified before and not expired since, without a promise: most requests carry one. */
  known(token: string): Principal | undefined;
};

export type JwtVerifierOptions = JwtKeyOptions & {
  /** The clock, epoch ms; tests freeze it. */
  now?: () => number;
  /** Verified tokens remembered; 0 turns the cache off. */
  cacheSize?: number;
};

export function createJwtVerifier(config: JwtConfig, opts: JwtVerifierOptions = {}): JwtVerifier {
  const { algorithms, key } = jwtKeys(config, opts);
  const now = opts.now ?? Date.now;
  const cache = new TokenCache(opts.cacheSize ?? 1024, now);
  const toleranceMs = config.clockToleranceMs;
  const base: JWTVerifyOptions = {
    algorithms,
    audience: config.audience,
    ...(config.issuer !== undefined && { issuer: config.issuer }),
    clockTolerance: toleranceMs / 1000,
    requiredClaims: ["exp"],
  };

  const verifyJwt = async (token: string): Promise<Principal> => {
    const cached = cache.get(token);
    if (cached) return cached;
    const options = { ...base, currentDate: new Date(now()) };
    let payload: JWTPayload;
    try {
      payload = await verified(token, key, options);
    } catch (err) {
      throw new Unauthenticated(reason(err, token));
    }
    if (typeof payload.sub !== "string" || payload.sub === "") throw new Unauthenticated("Token has no subject (sub)");
    const expiresAt = payload.exp! * 1000;
    // The issuer's clock may run ahead of ours by the tolerance.
    if (config.maxTtlMs > 0 && expiresAt - now() > config.maxTtlMs + toleranceMs) {
      throw new Unauthenticated("Token lifetime exceeds the allowed maximum (auth.jwt.maxTtl)");
    }
    const roles = rolesFromClaims(payload, config.rolesClaim);
    if ("error" in roles) throw new Unauthenticated(roles.error);
    const principal: Principal = Object.freeze({
      sub: payload.sub,
      roles: Object.freeze(roles.roles) as string[],
      via: "jwt",
      expiresAt,
      ...(typeof payload.iss === "string" && { issuer: payload.iss }),
    });
    // Same bound as jose's exp check, so a cached token expires exactly when a fresh check would fail.
    cache.set(token, principal, expiresAt + toleranceMs);
    return principal;
  };
  return Object.assign(verifyJwt, { known: (token: string) => cache.get(token) });
}

type GetKey = Parameters<typeof jwtVerify>[1];

async function verified(token: string, key: GetKey, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, key, options)).payload;
  } catch (err) {
    // A token without kid while the JWKS holds several keys of its type (mid-rotation):
    // jose leaves trying each candidate to the caller.
    if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw err;
    const candidates = err as errors.JWKSMultipleMatchingKeys & AsyncIterable<KeyObject | CryptoKey>;
    for await (const candidate of candidates) {
      try {
        return (await jwtVerify(token, candidate, options)).payload;
      } catch (e) {
        if (!(e instanceof errors.JWSSignatureVerificationFailed)) throw e;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
  }
}

/** Why a token was refused, in words a client can act on; never the token itself. */
function reason(err: unknown, token: string): string {
  if (err instanceof errors.JWTExpired) return "Token expired";
  if (err instanceof errors.JWTClaimValidationFailed) {
    const missing = err.reason === "missing";
    switch (err.claim) {
      case "exp":
        return missing ? "Token has no expiry (exp)" : "Token expiry (exp) is invalid";
      case "nbf":
        return "Token is not valid yet (nbf)";
      case "aud":
        return missing ? "Token has no audience (aud)" : "Token audience (aud) is not accepted";
      case "iss":
        return missing ? "Token has no issuer (iss)" : "Token issuer (iss) is not accepted";
      default:
        return `Token claim ${err.claim} is invalid`;
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    const alg = headerAlg(token);
    return alg ? `Token algorithm ${alg} is not accepted` : "Token algorithm is not accepted";
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return "Token signature is invalid";
  if (err instanceof errors.JWKSNoMatchingKey) return "Token signing key is unknown (kid)";
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return "Token is malformed";
  if (err instanceof JwksUnavailable) {
    log.warn(err.message);
    return "Cannot verify the token now: the signing keys are unavailable";
  }
  return "Invalid token";
}

// The header is the client's own text: echoed back only when it looks like an algorithm name.
function headerAlg(token: string): string | null {
  try {
    const header = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString("utf8"));
    return typeof header.alg === "string" && /^[A-Za-z0-9]{1,16}$/.test(header.alg) ? header.alg : null;
  } catch {
    return null;
  }
}
