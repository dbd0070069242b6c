// Who may scrape GET /metrics: with metrics.token set, a caller presenting it
// as a bearer token, from anywhere; without one, loopback clients only, whose
// Host names loopback too (a page whose name was rebound to 127.0.0.1 reaches
// us from loopback, under its own Host). The config is read per scrape, so a
// reload's token applies at once; tokens are compared as SHA-256 digests, in
// time that tells nothing of the token.

import type { Config } from "../config/load.ts";
import { checkHost } from "../front/origin.ts";
import { TEXT_FORMAT } from "./metrics.ts";

/** Answers a scrape; `address` is the client's IP, null when unknown (the app driven in-process). */
export type Scrape = (req: Request, address: string | null) => Response;

export function metricsRoute(metrics: { render(): string }, config: () => Pick<Config, "metrics" | "http">): Scrape {
  let known: { token: string; digest: Uint8Array } | null = null;
  return function scrape(req, address) {
    const c = config();
    const token = c.metrics.token;
    if (token !== undefined) {
      if (known?.token !== token) known = { token, digest: digest(token) };
      const m = /^Bearer +(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "");
      if (!m || !sameBytes(digest(m[1]!), known.digest)) {
        return new Response("a metrics token is required\n", { status: 401, headers: { "www-authenticate": 'Bearer realm="metrics"' } });
      }
    } else if ((address !== null && !loopbackAddress(address)) || !checkHost(req.headers.get("host"), c.http.allowedOrigins)) {
      return new Response("metrics are served to loopback clients only (set metrics.token to allow others)\n", { status: 403 });
    }
    return new Response(metrics.render(), { headers: { "content-type": TEXT_FORMAT, "cache-control": "no-store" } });
  };
}

export function loopbackAddress(ip: string): boolean {
  const v4 = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  return v4.startsWith("127.") || ip === "::1";
}

function digest(s: string): Uint8Array {
  return new Bun.CryptoHasher("sha256").update(s).digest();
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
