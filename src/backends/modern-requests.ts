// Requests to a modern (2026-07-28) backend: each carries the envelope, and
// what comes back is sorted. Results go up as they are (resultType, ttlMs...:
// the front shapes them for its client), except input_required for a caller
// that cannot take it (input-shim.ts). The backend's era errors (-32020, -32022,
// -32601, a -32021 about Sentinel's own envelope) are a problem between
// Sentinel and the backend: relayed, a client would read them as Sentinel's
// and might even change its own era. So they are logged, the backend is asked
// its era again, and the caller gets -32603 saying the backend refused.

import { BackendError, InternalError } from "../errors.ts";
import type { Params } from "../jsonrpc/message.ts";
import type { Logger } from "../log.ts";
import { UNSUPPORTED_VERSION } from "./era-probe.ts";
import { fulfilInputRequired, INPUT_METHODS } from "./input-shim.ts";
import { MODERN_VERSION } from "../jsonrpc/mcp-meta.ts";
import { isObject, withEnvelope } from "./modern-envelope.ts";
import type { Peer } from "./peer.ts";
import type { RequestOptions, Result } from "./request.ts";

const HEADER_MISMATCH = -32020;
const MISSING_CAPABILITY = -32021;
const METHOD_NOT_FOUND = -32601;
const NONE: RequestOptions = {};

export type ModernHost = {
  readonly name: string;
  readonly log: Logger;
  /** The backend answered as if its era verdict no longer held. */
  suspect(): void;
};

export class ModernRequester {
  constructor(
    readonly peer: Peer,
    private readonly host: ModernHost,
  ) {}

  async request(method: string, params: Params | undefined, timeoutMs: number, options: RequestOptions = NONE): Promise<Result> {
    let result: Result;
    try {
      result = await this.send(method, params, timeoutMs, options);
    } catch (err) {
      // A 2025 caller short of a capability the tool needs: refused the way the shim refuses it.
      if (method === "tools/call" && !options.takesInputRequired && err instanceof BackendError && err.rpcCode === MISSING_CAPABILITY) {
        return { content: [{ type: "text", text: err.message }], isError: true };
      }
      throw err;
    }
    if (result.resultType !== "input_required" || options.takesInputRequired || !INPUT_METHODS.has(method)) return result;
    return fulfilInputRequired(method, params, result, options, (p) => this.send(method, p, timeoutMs, options));
  }

  /** One request under the envelope. A -32022 that lists our revision anyway is tried once more. */
  private async send(method: string, params: Params | undefined, timeoutMs: number, options: RequestOptions): Promise<Result> {
    const enveloped = withEnvelope(params, options);
    try {
      return await this.peer.request(method, enveloped, timeoutMs, options);
    } catch (err) {
      if (!(err instanceof BackendError)) throw err;
      if (err.rpcCode !== UNSUPPORTED_VERSION || !listsOurs(err.data)) throw this.contain(err, method, options);
      try {
        return await this.peer.request(method, enveloped, timeoutMs, options);
      } catch (again) {
        throw again instanceof BackendError ? this.contain(again, method, options) : again;
      }
    }
  }

  private contain(err: BackendError, method: string, options: RequestOptions): Error {
    const why = eraFault(err, options);
    if (!why) return err;
    const data = err.data === undefined ? "" : ` ${JSON.stringify(err.data).slice(0, 300)}`;
    this.host.log.warn(`${method} refused (${why}): ${err.rpcCode} ${err.message}${data}`);
    this.host.suspect();
    return new InternalError(`Backend ${this.host.name} refused Sentinel's request (${why})`);
  }
}

/** Why an error is Sentinel's problem with the backend rather than the caller's; null: the caller's to read. */
function eraFault(err: BackendError, options: RequestOptions): string | null {
  switch (err.rpcCode) {
    case UNSUPPORTED_VERSION:
      return "unsupported protocol version";
    case HEADER_MISMATCH:
      return "header mismatch";
    // What a modern server answers for a method it does not have: a removed one, or an unadvertised capability.
    case METHOD_NOT_FOUND:
      return "method not found";
    case MISSING_CAPABILITY: {
      const required = isObject(err.data) && isObject(err.data.requiredCapabilities) ? err.data.requiredCapabilities : {};
      const declared = options.clientCapabilities;
      // Sentinel's own request, or a capability the caller has and Sentinel did not pass on.
      return !declared || declares(declared, required) ? "capability not declared by Sentinel" : null;
    }
  }
  return null;
}

/** Whether the caller declared any of the required capabilities (with their sub-capabilities, e.g. elicitation.url). */
function declares(declared: Record<string, unknown>, required: Record<string, unknown>): boolean {
  return Object.entries(required).some(([key, sub]) => {
    const mine = declared[key];
    if (!isObject(mine)) return false;
    // An empty elicitation object (2025-06-18) means form mode.
    const own = key === "elicitation" && Object.keys(mine).length === 0 ? { form: {} } : mine;
    return !isObject(sub) || Object.keys(sub).every((s) => s in own);
  });
}

function listsOurs(data: unknown): boolean {
  return isObject(data) && Array.isArray(data.supported) && data.supported.includes(MODERN_VERSION);
}
