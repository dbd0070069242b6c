// Turns a bearer token into a Principal: a JWT when it has the JWT shape and
// JWTs are configured, otherwise an API key. Built once at start, so that a bad
// secret, JWKS or key hash stops the gateway before it takes a request.

import type { Config } from "../config/load.ts";
import { Unauthenticated } from "../errors.ts";
import { apiKeyLookup, type ApiKeyLookup } from "./api-keys.ts";
import type { JwtVerifier, JwtVerifierOptions } from "./jwt.ts";
import type { Principal } from "./principal.ts";

// Three base64url parts; the last may be empty (alg "none"), which must still
// be judged, and refused, as a JWT rather than looked up as an API key.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// Far above any real JWT or key; spares the parsers an attacker's megabytes.
const MAX_TOKEN_LENGTH = 16 * 1024;

export type AuthenticatorOptions = JwtVerifierOptions;

export class Authenticator {
  private constructor(
    private readonly jwt: JwtVerifier | null,
    private readonly apiKey: ApiKeyLookup | null,
  ) {}

  /**
   * Throws ConfigError when the secret, the JWKS or a key hash is unusable.
   * jose is loaded only when JWTs are configured (it costs memory at idle).
   */
  static async create(auth: Config["auth"], opts: AuthenticatorOptions = {}): Promise<Authenticator> {
    const jwt = auth.jwt ? (await import("./jwt.ts")).createJwtVerifier(auth.jwt, opts) : null;
    return new Authenticator(jwt, auth.apiKeys.length > 0 ? apiKeyLookup(auth.apiKeys) : null);
  }

  /** Whether any way to present credentials is configured. */
  get enabled(): boolean {
    return this.jwt !== null || this.apiKey !== null;
  }

  /**
   * The principal of a JWT verified before (remembered until it expires), or
   * undefined: synchronous, so that the HTTP front's requests, which carry the
   * same token again and again, pay for no promises (verify() takes three).
   */
  known(token: string): Principal | undefined {
    return this.jwt?.known(token);
  }

  async verify(token: string): Promise<Principal> {
    if (token === "") throw new Unauthenticated("Missing token");
    if (token.length > MAX_TOKEN_LENGTH) throw new Unauthenticated("Invalid token");
    if (this.jwt && JWT_SHAPE.test(token)) return this.jwt(token);
    const principal = this.apiKey?.(token);
    if (principal) return principal;
    throw new Unauthenticated("Invalid token");
  }
}
