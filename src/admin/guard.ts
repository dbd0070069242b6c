// Who may use /admin: the Origin screen of /mcp first (a page from another
// origin is refused even on loopback), then either a loopback client whose
// Host names loopback too (as GET /metrics without a token: a rebound name
// arrives under its own Host) and that no proxy relayed, or a bearer token, verified by the front's own
// credential gate, of a principal with the role "admin". Every refusal is
// audited, as the front's are.

import type { Principal } from "../auth/principal.ts";
import type { Config } from "../config/load.ts";
import { Forbidden } from "../errors.ts";
import { credentialGate, type TokenVerifier } from "../front/http/credential-gate.ts";
import type { Refusals } from "../front/http/refusals.ts";
import { checkHost, checkOrigin } from "../front/origin.ts";
import { loopbackAddress } from "../ops/metrics-route.ts";

export const ADMIN_ROLE = "admin";

/** Who acts from loopback without a token: the audit rows name them so. */
const LOOPBACK_ADMIN: Principal = { sub: "admin@loopback", roles: [ADMIN_ROLE], via: "local", expiresAt: null };

/** The admin, or the Response that refuses the request; `address` is null when the app is driven in-process. */
export type AdminGuard = (req: Request, address: string | null) => Promise<Principal | Response>;

export function adminGuard(config: Config, auth: TokenVerifier, host: string, reject: Refusals["reject"]): AdminGuard {
  const gate = credentialGate(config, auth, { host, reject });
  const allowed = config.http.allowedOrigins;
  return async function admit(req, address) {
    const origin = req.headers.get("origin");
    if (origin && !checkOrigin(origin, allowed)) return reject(new Forbidden(`Forbidden: origin ${origin} is not allowed`));
    // A request a proxy on this host relayed comes from loopback, but not its client: it needs the token.
    const relayed = req.headers.has("forwarded") || req.headers.has("x-forwarded-for");
    if (!req.headers.has("authorization") && !relayed && (address === null || loopbackAddress(address))) {
      if (!checkHost(req.headers.get("host"), allowed)) return reject(new Forbidden(`Forbidden: host ${req.headers.get("host")} is not allowed`));
      return LOOPBACK_ADMIN;
    }
    const who = await gate(req);
    if (who instanceof Response) return who;
    if (!who.roles.includes(ADMIN_ROLE)) return reject(new Forbidden(`Forbidden: the admin page is for principals with the role ${ADMIN_ROLE}`));
    return who;
  };
}
