// What every /mcp request passes first: the Host and Origin screen (DNS
// rebinding), the protocol version, then who is calling (a bearer token, else
// anonymous if the config allows it: closed by default), with the 401 challenge.

import type { Authenticator } from "../../auth/authenticator.ts";
import type { Principal } from "../../auth/principal.ts";
import type { Config } from "../../config/load.ts";
import { PROTOCOL_VERSIONS } from "../../dispatch/own-methods.ts";
import { Forbidden, InvalidRequest, Unauthenticated } from "../../errors.ts";
import { isModernVersion } from "../../jsonrpc/mcp-meta.ts";
import { checkHost, checkOrigin, isLoopback } from "../origin.ts";
import type { Refusals } from "./refusals.ts";

/** Resolves to the caller, or to the Response that refuses the request. */
export type Gate = (req: Request) => Promise<Principal | Response>;

/** What the gate needs of the authenticator (`known`, if there, answers for tokens seen before). */
export type TokenVerifier = Pick<Authenticator, "enabled" | "verify"> & Partial<Pick<Authenticator, "known">>;

const BEARER = /^Bearer +(\S+)\s*$/i;

export type GateOptions = {
  /** The address the server binds: on loopback, the Host header must name loopback too (origin.ts). */
  host: string;
  reject: Refusals["reject"];
};

export function credentialGate(config: Config, auth: TokenVerifier, { host, reject }: GateOptions): Gate {
  if (typeof auth?.verify !== "function") throw new TypeError("credentialGate: auth must be an Authenticator");
  if (typeof reject !== "function") throw new TypeError("credentialGate: reject must be a function");
  const loopbackOnly = isLoopback(host);
  const allowed = config.http.allowedOrigins;
  const oauth = config.auth.oauth !== null;
  const modern = config.modern.enabled;
  const anonymous: Principal | null = config.identity.anonymous
    ? { sub: "anonymous", roles: config.identity.anonymous.roles, via: "anonymous", expiresAt: null }
    : null;

  /** Checks every /mcp request shares: Host and Origin (DNS rebinding), protocol version. */
  const screen = (headers: Headers): Response | null => {
    if (loopbackOnly && !checkHost(headers.get("host"), allowed)) {
      return reject(new Forbidden(`Forbidden: host ${headers.get("host")} is not allowed`));
    }
    const origin = headers.get("origin");
    if (origin && !checkOrigin(origin, allowed)) return reject(new Forbidden(`Forbidden: origin ${origin} is not allowed`));
    const version = headers.get("mcp-protocol-version");
    // A 2026-07-28 version (or a later one, refused with the versions spoken) is the era classifier's (modern-post.ts).
    if (version && !PROTOCOL_VERSIONS.includes(version) && !(modern && isModernVersion(version))) {
      return reject(new InvalidRequest(`Bad Request: unsupported MCP-Protocol-Version ${version}; supported: ${PROTOCOL_VERSIONS.join(", ")}`));
    }
    return null;
  };

  /**
   * Who is calling: a verified bearer token, else anonymous if the config allows
   * it (closed by default). A token verified before is known at once, without a promise.
   */
  const identify = (header: string | null): Principal | Unauthenticated | Promise<Principal | Unauthenticated> => {
    if (!header) return anonymous ?? new Unauthenticated("Unauthorized: credentials are required (Authorization: Bearer <token>)");
    const m = BEARER.exec(header);
    if (!m) return new Unauthenticated("Unauthorized: the Authorization header must be a Bearer token");
    if (!auth.enabled) return new Unauthenticated("Unauthorized: this gateway accepts no tokens");
    return auth.known?.(m[1]!) ?? verify(m[1]!);
  };

  const verify = async (token: string): Promise<Principal | Unauthenticated> => {
    try {
      return await auth.verify(token);
    } catch (err) {
      return err instanceof Unauthenticated ? err : new Unauthenticated("Unauthorized: invalid token");
    }
  };

  /** RFC 6750 / 9728: the challenge names the protected-resource metadata when OAuth is configured. */
  const unauthorized = (req: Request, err: Unauthenticated): Response => {
    const parts = ['Bearer realm="sentinel"'];
    if (oauth) parts.push(`resource_metadata="${new URL("/.well-known/oauth-protected-resource", req.url).href}"`);
    if (req.headers.has("authorization")) parts.push('error="invalid_token"', `error_description="${err.message.replace(/"/g, "'")}"`);
    return reject(err, null, { "www-authenticate": parts.join(", ") });
  };

  return async function gate(req) {
    const refused = screen(req.headers);
    if (refused) return refused;
    const found = identify(req.headers.get("authorization"));
    const identity = found instanceof Promise ? await found : found;
    return identity instanceof Unauthenticated ? unauthorized(req, identity) : identity;
  };
}
