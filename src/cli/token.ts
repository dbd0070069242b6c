// `sentinel token`: credentials for the gateway. `issue` mints an HS256 JWT with
// the configured secret (for people and scripts when no identity provider is
// at hand); `hash` and `new-key` make API keys for service accounts.

import { SignJWT } from "jose";
import type { JwtConfig } from "../config/load.ts";
import { parseDuration } from "../config/duration.ts";
import { generateApiKey, hashApiKey } from "../auth/api-keys.ts";
import { isSymmetric } from "../auth/jwt-keys.ts";
import { parseFlags, UsageError } from "./args.ts";
import { EXIT_CONFIG, loadOrExit } from "./load.ts";

export const tokenHelp = `Usage:
  sentinel token issue --config FILE --sub NAME [--role ROLE]... [--ttl 8h] [--aud AUDIENCE]
  sentinel token hash [KEY]
  sentinel token new-key

issue    prints a JWT signed with auth.jwt.secret: sub NAME, the given roles (in
         auth.jwt.rolesClaim), the first configured issuer and audience, and an
         expiry --ttl from now (default 8h).
hash     prints the "sha256:..." line for auth.apiKeys[].hash. Reads the key from
         stdin when not given, which keeps it out of your shell history.
new-key  prints a new random API key and its hash. Give the key to the service,
         put only the hash in the config.`;

const DEFAULT_TTL_MS = 8 * 3_600_000;

export async function token(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "issue":
      return issue(rest);
    case "hash":
      return hash(rest);
    case "new-key": {
      parseFlags(rest, {});
      const key = generateApiKey();
      return void process.stdout.write(`key: ${key}\nhash: ${hashApiKey(key)}\n`);
    }
    case undefined:
      throw new UsageError("token: expected issue, hash or new-key");
    default:
      throw new UsageError(`token: unknown subcommand "${command}" (expected issue, hash or new-key)`);
  }
}

async function issue(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, {
    config: { type: "string", short: "c" },
    sub: { type: "string" },
    role: { type: "string", multiple: true },
    ttl: { type: "string" },
    aud: { type: "string" },
  });
  if (positionals.length > 0) throw new UsageError(`token issue: unexpected argument "${positionals[0]}"`);
  if (!values.sub) throw new UsageError("token issue: --sub NAME is required");
  const ttlMs = values.ttl === undefined ? DEFAULT_TTL_MS : parseDuration(values.ttl);
  if (ttlMs === null || ttlMs <= 0) throw new UsageError(`token issue: --ttl expects a duration such as 30m or 8h, got "${values.ttl}"`);

  const jwt = (await loadOrExit(values.config)).auth.jwt;
  try {
    const token = await issueToken(jwt, { sub: values.sub, roles: values.role ?? [], ttlMs, ...(values.aud !== undefined && { audience: values.aud }) });
    process.stdout.write(`${token}\n`);
  } catch (err) {
    if (!(err instanceof CannotIssue)) throw err;
    process.stderr.write(`sentinel: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}

/** The config cannot produce a token the gateway would accept. */
export class CannotIssue extends Error {}

export type IssueOptions = { sub: string; roles: string[]; ttlMs: number; audience?: string; now?: () => number };

export async function issueToken(jwt: JwtConfig | null, opts: IssueOptions): Promise<string> {
  if (!jwt?.secret) throw new CannotIssue("token issue needs auth.jwt.secret in the config (tokens are signed with it)");
  // Signed with an algorithm the gateway accepts, or not at all.
  const alg = jwt.algorithms ? jwt.algorithms.find(isSymmetric) : "HS256";
  if (!alg) throw new CannotIssue(`auth.jwt.algorithms (${jwt.algorithms!.join(", ")}) accepts no HS* algorithm, so no token signed with the secret would pass`);
  if (jwt.maxTtlMs > 0 && opts.ttlMs > jwt.maxTtlMs) {
    throw new CannotIssue(`--ttl exceeds auth.jwt.maxTtl (${jwt.maxTtlMs} ms); the gateway would refuse the token`);
  }
  const audience = opts.audience ?? jwt.audience[0];
  const nowS = Math.floor((opts.now ?? Date.now)() / 1000);
  const signer = new SignJWT({ [jwt.rolesClaim]: jwt.rolesClaim === "scope" ? opts.roles.join(" ") : opts.roles })
    .setProtectedHeader({ alg, typ: "JWT" })
    .setSubject(opts.sub)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + Math.ceil(opts.ttlMs / 1000));
  if (audience !== undefined) signer.setAudience(audience);
  if (jwt.issuer?.[0] !== undefined) signer.setIssuer(jwt.issuer[0]);
  return signer.sign(new TextEncoder().encode(jwt.secret));
}

async function hash(argv: string[]): Promise<void> {
  const { positionals } = parseFlags(argv, {});
  if (positionals.length > 1) throw new UsageError("token hash: expected at most one KEY");
  let key = positionals[0];
  if (key === undefined) {
    if (process.stdin.isTTY) process.stderr.write("Paste the key, then press Enter and Ctrl-D:\n");
    key = await Bun.stdin.text();
  }
  // A key cannot carry surrounding blanks through an HTTP header anyway.
  key = key.trim();
  if (key === "") throw new UsageError("token hash: the key is empty");
  process.stdout.write(`${hashApiKey(key)}\n`);
}
