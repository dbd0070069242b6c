import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { apiKeyLookup, generateApiKey, hashApiKey } from "../../src/auth/api-keys.ts";
import { Authenticator } from "../../src/auth/authenticator.ts";
import { createJwtVerifier, type JwtVerifierOptions } from "../../src/auth/jwt.ts";
import { CannotIssue, issueToken } from "../../src/cli/token.ts";
import { parseConfig, type Config, type JwtConfig } from "../../src/config/load.ts";
import { ConfigError, Unauthenticated } from "../../src/errors.ts";
import { setLogLevel } from "../../src/log.ts";

const SECRET = "a-test-secret-that-is-long-enough-0123456789";
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const HOUR = 3_600_000;

let clock = T0;
const now = () => clock;
const s = (ms: number) => Math.floor(ms / 1000);

type RsaKey = { kid: string; privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK };
async function rsaKey(kid: string): Promise<RsaKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  return { kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

let dir: string;
let key1: RsaKey;
let key2: RsaKey;
let stranger: RsaKey;
let jwksFile: string;
// What the JWKS server serves, and how often it was asked.
let served: { keys: JWK[] } = { keys: [] };
let fetches = 0;
let failing = false;
let server: ReturnType<typeof Bun.serve>;
let jwksUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sentinel-auth-test-"));
  [key1, key2, stranger] = await Promise.all([rsaKey("k1"), rsaKey("k2"), rsaKey("k1")]);
  jwksFile = join(dir, "jwks.json");
  writeFileSync(jwksFile, JSON.stringify({ keys: [key1.jwk] }));
  server = Bun.serve({
    port: 0,
    fetch() {
      fetches++;
      return failing ? new Response("down", { status: 503 }) : Response.json(served);
    },
  });
  jwksUrl = `http://127.0.0.1:${server.port}/.well-known/jwks.json`;
});
afterAll(() => {
  server.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

function jwtConfig(over: Partial<JwtConfig> = {}): JwtConfig {
  return { secret: SECRET, audience: ["sentinel"], clockToleranceMs: 0, rolesClaim: "roles", maxTtlMs: 0, ...over };
}

/** Claims valid at the frozen clock: sub alice, aud sentinel, 1 h left. */
function claims(over: JWTPayload = {}): JWTPayload {
  return { sub: "alice", aud: "sentinel", iat: s(clock), exp: s(clock + HOUR), ...over };
}

function strip(payload: JWTPayload): JWTPayload {
  return Object.fromEntries(Object.entries(payload).filter(([, v]) => v !== undefined));
}

function hs(payload: JWTPayload = claims(), secret = SECRET): Promise<string> {
  return new SignJWT(strip(payload)).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(secret));
}

/** kid null: a header without kid. */
function rs(payload: JWTPayload = claims(), key: RsaKey = key1, kid: string | null = key.kid): Promise<string> {
  return new SignJWT(strip(payload)).setProtectedHeader({ alg: "RS256", ...(kid !== null && { kid }) }).sign(key.privateKey);
}

const b64 = (x: unknown) => Buffer.from(JSON.stringify(x)).toString("base64url");

function hsVerifier(over: Partial<JwtConfig> = {}, opts: JwtVerifierOptions = {}) {
  return createJwtVerifier(jwtConfig(over), { now, ...opts });
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(Unauthenticated);
    return (err as Unauthenticated).message;
  }
  throw new Error("expected the token to be refused");
}

function configIssues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error("expected a ConfigError");
}

describe("JWT: HS256 claims", () => {
  test("a valid token becomes a principal", async () => {
    clock = T0;
    const p = await hsVerifier()(await hs(claims({ roles: ["developer", "oncall"] })));
    expect(p).toEqual({ sub: "alice", roles: ["developer", "oncall"], via: "jwt", expiresAt: s(T0 + HOUR) * 1000 });
  });

  test("roles as a space-separated string, plus scope, deduplicated", async () => {
    clock = T0;
    const p = await hsVerifier()(await hs(claims({ roles: "developer  oncall", scope: "mcp:read developer" })));
    expect(p.roles).toEqual(["developer", "oncall", "mcp:read"]);
  });

  test("scope alone gives roles", async () => {
    clock = T0;
    expect((await hsVerifier()(await hs(claims({ scope: "mcp:read mcp:write" })))).roles).toEqual(["mcp:read", "mcp:write"]);
  });

  test("a custom roles claim: exact name first, then a dotted path", async () => {
    clock = T0;
    const nested = hsVerifier({ rolesClaim: "realm_access.roles" });
    expect((await nested(await hs(claims({ realm_access: { roles: ["admin"] } })))).roles).toEqual(["admin"]);
    const namespaced = hsVerifier({ rolesClaim: "https://example.com/roles" });
    expect((await namespaced(await hs(claims({ "https://example.com/roles": ["ops"] })))).roles).toEqual(["ops"]);
  });

  test("no roles claim: no roles", async () => {
    clock = T0;
    expect((await hsVerifier()(await hs())).roles).toEqual([]);
  });

  test("a malformed roles claim is refused", async () => {
    clock = T0;
    expect(await refusal(hsVerifier()(await hs(claims({ roles: [1, 2] }))))).toContain('"roles"');
    expect(await refusal(hsVerifier()(await hs(claims({ scope: { a: 1 } }))))).toContain('"scope"');
  });

  test("expired", async () => {
    clock = T0;
    expect(await refusal(hsVerifier()(await hs(claims({ exp: s(T0 - 1000) }))))).toBe("Token expired");
  });

  test("not yet valid (nbf)", async () => {
    clock = T0;
    expect(await refusal(hsVerifier()(await hs(claims({ nbf: s(T0 + 60_000) }))))).toBe("Token is not valid yet (nbf)");
  });

  test("wrong audience; any configured audience passes; aud is required", async () => {
    clock = T0;
    const v = hsVerifier({ audience: ["sentinel", "mcp-gw"] });
    expect(await refusal(v(await hs(claims({ aud: "someone-else" }))))).toBe("Token audience (aud) is not accepted");
    expect((await v(await hs(claims({ aud: ["other", "mcp-gw"] })))).sub).toBe("alice");
    expect(await refusal(v(await hs(claims({ aud: undefined }))))).toBe("Token has no audience (aud)");
  });

  test("wrong issuer; any configured issuer passes; iss is required when configured", async () => {
    clock = T0;
    const v = hsVerifier({ issuer: ["https://idp.example", "https://other.example"] });
    expect(await refusal(v(await hs(claims({ iss: "https://evil.example" }))))).toBe("Token issuer (iss) is not accepted");
    expect((await v(await hs(claims({ iss: "https://other.example" })))).sub).toBe("alice");
    expect(await refusal(v(await hs(claims())))).toBe("Token has no issuer (iss)");
    // Without an issuer configured, any is fine.
    expect((await hsVerifier()(await hs(claims({ iss: "whoever" })))).sub).toBe("alice");
  });

  test("missing exp is refused: tokens must expire", async () => {
    clock = T0;
    expect(await refusal(hsVerifier()(await hs(claims({ exp: undefined }))))).toBe("Token has no expiry (exp)");
  });

  test("missing or empty sub is refused", async () => {
    clock = T0;
    expect(await refusal(hsVerifier()(await hs(claims({ sub: undefined }))))).toBe("Token has no subject (sub)");
    expect(await refusal(hsVerifier()(await hs(claims({ sub: "" }))))).toBe("Token has no subject (sub)");
  });

  test("clock tolerance covers small skews, no more", async () => {
    clock = T0;
    const v = hsVerifier({ clockToleranceMs: 30_000 });
    expect((await v(await hs(claims({ exp: s(T0 - 10_000) })))).sub).toBe("alice");
    expect((await v(await hs(claims({ nbf: s(T0 + 10_000) })))).sub).toBe("alice");
    expect(await refusal(v(await hs(claims({ exp: s(T0 - 40_000) }))))).toBe("Token expired");
    expect(await refusal(v(await hs(claims({ nbf: s(T0 + 40_000) }))))).toBe("Token is not valid yet (nbf)");
  });

  test("maxTtl refuses tokens that live too long", async () => {
    clock = T0;
    const v = hsVerifier({ maxTtlMs: HOUR });
    expect((await v(await hs(claims({ exp: s(T0 + 30 * 60_000) })))).sub).toBe("alice");
    expect(await refusal(v(await hs(claims({ exp: s(T0 + 2 * HOUR) }))))).toContain("lifetime exceeds");
    expect((await hsVerifier()(await hs(claims({ exp: s(T0 + 1000 * HOUR) })))).sub).toBe("alice");
  });

  test("a refusal never echoes the token", async () => {
    clock = T0;
    const token = await hs(claims({ exp: s(T0 - 1000) }), SECRET);
    const message = await refusal(hsVerifier()(token));
    for (const part of token.split(".")) expect(message).not.toContain(part);
  });
});

describe("JWT: signatures and algorithms", () => {
  test("alg none is refused, even with every claim right", async () => {
    clock = T0;
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64(claims())}.`;
    expect(await refusal(hsVerifier()(unsigned))).toBe("Token algorithm none is not accepted");
    const jwks = createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksFile }), { now });
    expect(await refusal(jwks(unsigned))).toBe("Token algorithm none is not accepted");
    // Through the authenticator: the empty signature still makes it a JWT, not an API key.
    const auth = await Authenticator.create({ jwt: jwtConfig(), apiKeys: [], oauth: null }, { now });
    expect(await refusal(auth.verify(unsigned))).toBe("Token algorithm none is not accepted");
  });

  test("a token signed with another secret is refused", async () => {
    clock = T0;
    expect(await refusal(hsVerifier()(await hs(claims(), "another-secret-that-is-also-long-enough-42")))).toBe("Token signature is invalid");
  });

  test("a tampered payload is refused", async () => {
    clock = T0;
    const [h, , sig] = (await hs(claims({ roles: ["viewer"] }))).split(".");
    const forged = `${h}.${b64(claims({ roles: ["admin"] }))}.${sig}`;
    expect(await refusal(hsVerifier()(forged))).toBe("Token signature is invalid");
  });

  test("an RS256 token signed by a stranger's key with the right kid is refused", async () => {
    clock = T0;
    const v = createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksFile }), { now });
    expect(await refusal(v(await rs(claims(), stranger)))).toBe("Token signature is invalid");
  });

  test("an HS256 token is refused when only a JWKS is configured", async () => {
    clock = T0;
    const v = createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksFile }), { now });
    expect(await refusal(v(await hs()))).toBe("Token algorithm HS256 is not accepted");
  });

  test("algorithm confusion: the RSA public key used as an HMAC secret", async () => {
    clock = T0;
    const pem = await exportSPKI(key1.publicKey);
    const asSecret = (text: string) =>
      new SignJWT(claims({ roles: ["admin"] })).setProtectedHeader({ alg: "HS256", kid: "k1" }).sign(new TextEncoder().encode(text));
    const jwksOnly = createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksFile }), { now });
    expect(await refusal(jwksOnly(await asSecret(pem)))).toBe("Token algorithm HS256 is not accepted");
    expect(await refusal(jwksOnly(await asSecret(JSON.stringify(key1.jwk))))).toBe("Token algorithm HS256 is not accepted");
    // With both configured, HS256 is checked against the secret only, never a JWKS key.
    const both = createJwtVerifier(jwtConfig({ jwks: jwksFile }), { now });
    expect(await refusal(both(await asSecret(pem)))).toBe("Token signature is invalid");
    expect((await both(await rs())).sub).toBe("alice");
    expect((await both(await hs())).sub).toBe("alice");
  });

  test("an RS256 token is refused when only a secret is configured", async () => {
    clock = T0;
    expect(await refusal(hsVerifier()(await rs()))).toBe("Token algorithm RS256 is not accepted");
  });

  test("configured algorithms narrow what passes", async () => {
    clock = T0;
    const v = createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksFile, algorithms: ["PS256"] }), { now });
    expect(await refusal(v(await rs()))).toBe("Token algorithm RS256 is not accepted");
  });

  test("garbage is malformed", async () => {
    clock = T0;
    expect(await refusal(hsVerifier()("abc.def.ghi"))).toBe("Token is malformed");
  });
});

describe("JWT: key configuration is checked when built", () => {
  test("a local JWKS file", async () => {
    clock = T0;
    const v = createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksFile }), { now });
    expect(await v(await rs(claims({ roles: ["ops"] })))).toEqual({ sub: "alice", roles: ["ops"], via: "jwt", expiresAt: s(T0 + HOUR) * 1000 });
    expect(await refusal(v(await rs(claims(), key2)))).toBe("Token signing key is unknown (kid)");
  });

  test("a JWKS without kids: a token without kid tries each candidate", async () => {
    clock = T0;
    const file = join(dir, "two.json");
    const { kid: _a, ...a } = key1.jwk;
    const { kid: _b, ...b } = key2.jwk;
    writeFileSync(file, JSON.stringify({ keys: [a, b] }));
    const v = createJwtVerifier(jwtConfig({ secret: undefined, jwks: file }), { now });
    expect((await v(await rs(claims(), key2, null))).sub).toBe("alice");
    expect(await refusal(v(await rs(claims(), stranger, null)))).toBe("Token signature is invalid");
  });

  test("bad key material is a ConfigError listing every problem", async () => {
    expect(configIssues(() => createJwtVerifier(jwtConfig({ secret: undefined, jwks: join(dir, "missing.json") })))[0]).toContain("cannot read");
    const privateFile = join(dir, "private.json");
    writeFileSync(privateFile, JSON.stringify({ keys: [await exportJWK(key1.privateKey)] }));
    expect(configIssues(() => createJwtVerifier(jwtConfig({ jwks: privateFile })))[0]).toContain("private key");
    const octFile = join(dir, "oct.json");
    writeFileSync(octFile, JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0" }] }));
    expect(configIssues(() => createJwtVerifier(jwtConfig({ jwks: octFile })))[0]).toContain("symmetric key");
    const notJwks = join(dir, "not.json");
    writeFileSync(notJwks, "[1,2]");
    expect(configIssues(() => createJwtVerifier(jwtConfig({ jwks: notJwks })))[0]).toContain("expected a JWKS");

    // Checked once, by the config schema; the verifier trusts a parsed config.
    expect(configIssues(() => parseConfig("auth:\n  jwt: { audience: x }\n", "<test>", {}))).toEqual(["auth.jwt: set secret (HS256) or jwks (RS256/ES256/EdDSA)"]);
    expect(configIssues(() => parseConfig("auth:\n  jwt: { secret: short }\n", "<test>", {}))[0]).toContain("at least 32");
    expect(configIssues(() => createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksFile, algorithms: ["HS256"] })))).toEqual([
      "auth.jwt.algorithms: HS256 needs auth.jwt.secret",
    ]);
    expect(configIssues(() => createJwtVerifier(jwtConfig({ algorithms: ["RS256", "none"] })))).toEqual([
      "auth.jwt.algorithms: RS256 needs auth.jwt.jwks",
      'auth.jwt.algorithms: "none" is not supported',
    ]);
  });
});

describe("JWT: remote JWKS", () => {
  test("fetched once, then cached", async () => {
    clock = T0;
    served = { keys: [key1.jwk] };
    fetches = 0;
    const v = createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksUrl }), { now });
    expect(fetches).toBe(0); // nothing happens before the first token
    expect((await v(await rs(claims({ sub: "a" })))).sub).toBe("a");
    expect((await v(await rs(claims({ sub: "b" })))).sub).toBe("b");
    expect(fetches).toBe(1);
  });

  test("key rotation: a kid published after the start is fetched and accepted", async () => {
    clock = T0;
    served = { keys: [key1.jwk] };
    fetches = 0;
    const v = createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksUrl }), { now, jwksCooldownMs: 0 });
    expect((await v(await rs())).sub).toBe("alice");
    expect(fetches).toBe(1);
    // The identity provider rotates: k2 appears beside k1.
    served = { keys: [key1.jwk, key2.jwk] };
    expect((await v(await rs(claims({ sub: "bob" }), key2))).sub).toBe("bob");
    expect(fetches).toBe(2);
    // A kid that never appears is refused after one more look.
    expect(await refusal(v(await rs(claims(), { ...stranger, kid: "k3" })))).toBe("Token signing key is unknown (kid)");
  });

  test("within the cooldown an unknown kid does not trigger a refetch", async () => {
    clock = T0;
    served = { keys: [key1.jwk] };
    fetches = 0;
    const v = createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksUrl }), { now });
    await v(await rs());
    served = { keys: [key1.jwk, key2.jwk] };
    expect(await refusal(v(await rs(claims(), key2)))).toBe("Token signing key is unknown (kid)");
    expect(fetches).toBe(1);
  });

  test("an unreachable JWKS refuses the token without blaming it", async () => {
    clock = T0;
    failing = true;
    setLogLevel("error"); // the operator's warning is expected here
    try {
      const v = createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksUrl }), { now });
      expect(await refusal(v(await rs()))).toBe("Cannot verify the token now: the signing keys are unavailable");
    } finally {
      failing = false;
      setLogLevel("info");
    }
  });
});

describe("JWT: verified-token cache", () => {
  test("a token seen again is not re-verified", async () => {
    clock = T0;
    served = { keys: [key1.jwk] };
    const v = createJwtVerifier(jwtConfig({ secret: undefined, jwks: jwksUrl }), { now });
    const token = await rs(claims({ roles: ["ops"] }));
    const first = await v(token);
    // Were it verified again, the dead JWKS would refuse it.
    failing = true;
    try {
      expect(await v(token)).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
    } finally {
      failing = false;
    }
  });

  test("a cached token still expires, tolerance included", async () => {
    clock = T0;
    const v = hsVerifier({ clockToleranceMs: 5_000 });
    const token = await hs(claims({ exp: s(T0 + 60_000) }));
    const first = await v(token);
    clock = T0 + 64_000;
    expect(await v(token)).toBe(first);
    clock = T0 + 65_000;
    expect(await refusal(v(token))).toBe("Token expired");
  });

  test("the cache is bounded: the least recently used entry goes", async () => {
    clock = T0;
    const v = hsVerifier({}, { cacheSize: 2 });
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((sub) => hs(claims({ sub }))));
    const pa = await v(a!);
    const pb = await v(b!);
    expect(await v(a!)).toBe(pa); // a is now the most recent
    await v(c!); // evicts b
    expect(await v(a!)).toBe(pa);
    const pb2 = await v(b!);
    expect(pb2).not.toBe(pb);
    expect(pb2).toEqual(pb);
  });
});

describe("API keys", () => {
  test("hash format, with a known SHA-256 vector", () => {
    expect(hashApiKey("abc")).toBe("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  test("generated keys are random, prefixed and hash into the config format", () => {
    const a = generateApiKey();
    const b = generateApiKey();
    expect(a).not.toBe(b);
    expect(a).toMatch(/^sk-sentinel-[A-Za-z0-9_-]{43}$/);
    expect(hashApiKey(a)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test("lookup: the right key gives its account, any other nothing", () => {
    const ci = generateApiKey();
    const bot = generateApiKey();
    const lookup = apiKeyLookup([
      { name: "ci", hash: hashApiKey(ci), roles: ["deployer"] },
      { name: "bot", hash: hashApiKey(bot), roles: [] },
    ]);
    expect(lookup(ci)).toEqual({ sub: "ci", roles: ["deployer"], via: "apikey", expiresAt: null });
    expect(lookup(bot)?.sub).toBe("bot");
    expect(lookup(generateApiKey())).toBeNull();
    expect(lookup(ci.slice(0, -1))).toBeNull();
    expect(lookup(hashApiKey(ci))).toBeNull(); // the hash itself is no key
  });

  test("a repeated or malformed hash is a ConfigError", () => {
    const h = hashApiKey("k");
    expect(configIssues(() => apiKeyLookup([{ name: "a", hash: h, roles: [] }, { name: "b", hash: h, roles: [] }]))[0]).toContain("same key");
    expect(configIssues(() => apiKeyLookup([{ name: "a", hash: "md5:abc", roles: [] }]))[0]).toContain("sha256");
  });
});

describe("Authenticator", () => {
  const auth = (a: Partial<Config["auth"]>) => Authenticator.create({ jwt: null, apiKeys: [], oauth: null, ...a }, { now });

  test("JWTs and API keys side by side", async () => {
    clock = T0;
    const key = generateApiKey();
    const a = await auth({ jwt: jwtConfig(), apiKeys: [{ name: "ci", hash: hashApiKey(key), roles: ["deployer"] }] });
    expect(a.enabled).toBe(true);
    expect((await a.verify(await hs())).via).toBe("jwt");
    expect(await a.verify(key)).toEqual({ sub: "ci", roles: ["deployer"], via: "apikey", expiresAt: null });
    expect(await refusal(a.verify(await hs(claims({ exp: s(T0 - 1000) }))))).toBe("Token expired");
    expect(await refusal(a.verify("sk-sentinel-wrong"))).toBe("Invalid token");
  });

  test("a JWT-shaped token goes to the API keys when JWTs are not configured", async () => {
    clock = T0;
    const a = await auth({ apiKeys: [{ name: "odd", hash: hashApiKey("aa.bb.cc"), roles: [] }] });
    expect((await a.verify("aa.bb.cc")).sub).toBe("odd");
    expect(await refusal(a.verify(await hs()))).toBe("Invalid token");
  });

  test("nothing configured: disabled, every token refused", async () => {
    const a = await auth({});
    expect(a.enabled).toBe(false);
    expect(await refusal(a.verify("anything"))).toBe("Invalid token");
  });

  test("empty and oversized tokens; the error maps to 401 / -32010", async () => {
    const a = await auth({ jwt: jwtConfig() });
    expect(await refusal(a.verify(""))).toBe("Missing token");
    expect(await refusal(a.verify("x".repeat(20_000)))).toBe("Invalid token");
    const err = await a.verify("nope").catch((e: Unauthenticated) => e);
    expect(err).toBeInstanceOf(Unauthenticated);
    expect((err as Unauthenticated).httpStatus).toBe(401);
    expect((err as Unauthenticated).rpcCode).toBe(-32010);
  });

  test("a bad key configuration fails at create", async () => {
    await expect(auth({ jwt: jwtConfig({ algorithms: ["none"] }) })).rejects.toThrow(ConfigError);
  });
});

describe("sentinel token", () => {
  test("issue mints a token the gateway accepts", async () => {
    clock = T0;
    const jwt = jwtConfig({ issuer: ["https://sentinel.local"], audience: ["gw", "other"], rolesClaim: "groups" });
    const token = await issueToken(jwt, { sub: "alice", roles: ["developer", "oncall"], ttlMs: 8 * HOUR, now });
    const a = await Authenticator.create({ jwt, apiKeys: [], oauth: null }, { now });
    expect(await a.verify(token)).toEqual({ sub: "alice", roles: ["developer", "oncall"], via: "jwt", expiresAt: T0 + 8 * HOUR, issuer: "https://sentinel.local" });
    const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
    expect(payload).toMatchObject({ iss: "https://sentinel.local", aud: "gw", groups: ["developer", "oncall"] });
    const other = await issueToken(jwt, { sub: "bob", roles: [], ttlMs: HOUR, audience: "other", now });
    expect((await a.verify(other)).sub).toBe("bob");
  });

  test("issue refuses what the gateway would refuse", async () => {
    await expect(issueToken(null, { sub: "a", roles: [], ttlMs: HOUR })).rejects.toThrow(CannotIssue);
    await expect(issueToken(jwtConfig({ secret: undefined, jwks: jwksFile }), { sub: "a", roles: [], ttlMs: HOUR })).rejects.toThrow("auth.jwt.secret");
    await expect(issueToken(jwtConfig({ maxTtlMs: HOUR }), { sub: "a", roles: [], ttlMs: 2 * HOUR })).rejects.toThrow("maxTtl");
    await expect(issueToken(jwtConfig({ jwks: jwksFile, algorithms: ["RS256"] }), { sub: "a", roles: [], ttlMs: HOUR })).rejects.toThrow("no HS*");
  });

  // The command itself, in a child process: stdout, stdin and exit codes are real.
  const run = async (args: string[], stdin = "") => {
    const script = join(dir, "run-token.ts");
    writeFileSync(script, `import { token } from ${JSON.stringify(resolve(import.meta.dir, "../../src/cli/token.ts"))};\nawait token(process.argv.slice(2));\n`);
    const p = Bun.spawn([process.execPath, script, ...args], { stdin: new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { out, err, code };
  };

  test("hash reads the key from stdin or the argument", async () => {
    expect((await run(["hash"], "abc\n")).out).toBe(`${hashApiKey("abc")}\n`);
    expect((await run(["hash", "abc"])).out).toBe(`${hashApiKey("abc")}\n`);
  });

  test("new-key prints a key and its hash", async () => {
    const { out, code } = await run(["new-key"]);
    expect(code).toBe(0);
    const m = /^key: (sk-sentinel-\S+)\nhash: (sha256:[0-9a-f]{64})\n$/.exec(out);
    expect(m).not.toBeNull();
    expect(hashApiKey(m![1]!)).toBe(m![2]!);
  });

  test("issue from a config file; exit 2 without a secret", async () => {
    const withSecret = join(dir, "with-secret.yaml");
    writeFileSync(withSecret, `auth:\n  jwt:\n    secret: ${SECRET}\n    audience: gw\n`);
    const ok = await run(["issue", "--config", withSecret, "--sub", "alice", "--role", "dev", "--role", "ops", "--ttl", "1h"]);
    expect(ok.code).toBe(0);
    clock = Date.now();
    const jwt = jwtConfig({ audience: ["gw"] });
    expect(await (await Authenticator.create({ jwt, apiKeys: [], oauth: null }, { now })).verify(ok.out.trim())).toMatchObject({ sub: "alice", roles: ["dev", "ops"] });

    const noSecret = join(dir, "no-secret.yaml");
    writeFileSync(noSecret, `auth:\n  jwt:\n    jwks: ${jwksFile}\n`);
    const refused = await run(["issue", "--config", noSecret, "--sub", "alice"]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain("auth.jwt.secret");
    expect(refused.out).toBe("");
  });
});
