// The requestState Sentinel hands a 2026-07-28 client with input_required.
// The client holds it and echoes it on its retry, so it is attacker-controlled:
// sealed with HMAC-SHA256 and bound to the principal, the method, a digest of
// the request's own parameters and an expiry (MCP 2026-07-28, MRTR). It says
// either which call is parked here, or, for a modern backend's own state,
// which backend it belongs to and that state byte for byte.

import { InvalidParams } from "../errors.ts";
import type { Params } from "../jsonrpc/message.ts";

const PREFIX = "sentinel1.";

/** What a sealed state carries; `sub` is the principal's key (auth/principal.ts), not only its subject. */
export type StateClaims =
  /** A call parked in this process (push -> input_required). */
  | { kind: "park"; park: string; sub: string; method: string; digest: string; exp: number }
  /** A modern backend's own state, relayed: restored byte-exact on the retry. */
  | { kind: "relay"; backend: string; inner: string | null; sub: string; method: string; digest: string; exp: number };

export class RequestStates {
  private readonly key: string;

  constructor(key?: string) {
    // Without a configured key, one per process: its parked calls live here anyway.
    this.key = key ?? Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  }

  seal(claims: StateClaims): string {
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    return `${PREFIX}${body}.${this.mac(body)}`;
  }

  /** Whether the value looks like one of ours (else it is a client's guess or a backend's). */
  static ours(state: unknown): state is string {
    return typeof state === "string" && state.startsWith(PREFIX);
  }

  /**
   * The claims of a state this gateway sealed, checked against the retry that
   * carries it; a tampered, expired or foreign state is refused (-32602).
   */
  open(state: unknown, sub: string, method: string, params: Params): StateClaims {
    if (!RequestStates.ours(state)) throw new InvalidParams("Invalid params: requestState was not issued by this gateway");
    const [body, mac] = state.slice(PREFIX.length).split(".");
    if (!body || !mac || !timingSafeEqual(mac, this.mac(body))) throw new InvalidParams("Invalid params: requestState failed its integrity check");
    let claims: StateClaims;
    try {
      claims = JSON.parse(Buffer.from(body, "base64url").toString()) as StateClaims;
    } catch {
      throw new InvalidParams("Invalid params: requestState failed its integrity check");
    }
    if (claims.exp < Date.now()) throw new InvalidParams("Invalid params: requestState has expired; call again without it");
    if (claims.sub !== sub) throw new InvalidParams("Invalid params: requestState belongs to another principal");
    if (claims.method !== method || claims.digest !== digestOf(method, params)) {
      throw new InvalidParams("Invalid params: requestState belongs to another request");
    }
    return claims;
  }

  private mac(body: string): string {
    const h = new Bun.CryptoHasher("sha256", this.key);
    h.update(body);
    return h.digest("base64url");
  }
}

/**
 * What a retry must repeat of the original request: its target and arguments
 * (not inputResponses, requestState or _meta, which differ by design).
 */
export function digestOf(method: string, params: Params): string {
  const target = method === "resources/read" ? params.uri : params.name;
  const h = new Bun.CryptoHasher("sha256");
  h.update(JSON.stringify([method, target ?? null, params.arguments ?? null]));
  return h.digest("base64url").slice(0, 22);
}

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
