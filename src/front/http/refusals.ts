// Turning a typed error into the front's wire answer: audited, with a JSON-RPC
// body, and the HTTP status and headers its class names (src/errors.ts).

import type { SentinelError } from "../../errors.ts";
import type { JsonRpcId, Response as RpcResponse } from "../../jsonrpc/message.ts";
import { logger } from "../../log.ts";
import { JSON_HEADERS } from "./response-shaper.ts";

const log = logger("http");

export type Refusals = {
  /** An error answer for a message owed one (or for a POST refused before any message was read). */
  reject(err: SentinelError, id?: JsonRpcId | null, headers?: Record<string, string>): Response;
  /**
   * A notification or response that cannot be accepted: audited and logged, never
   * answered in JSON-RPC. The POST still ends in "an HTTP error status code" (MCP
   * 2025-11-25), with an empty body, as there is no request to answer.
   */
  unanswered(what: string, id: JsonRpcId | null, err: SentinelError): void;
};

export function refusals(pipeline: { rejected(session: null, front: string, id: JsonRpcId | null, err: unknown): RpcResponse }): Refusals {
  return {
    reject(err, id = null, headers) {
      const body = JSON.stringify(pipeline.rejected(null, "http", id, err));
      return new Response(body, { status: err.httpStatus, headers: { ...JSON_HEADERS, ...err.httpHeaders, ...headers } });
    },
    unanswered(what, id, err) {
      pipeline.rejected(null, "http", id, err);
      log.warn(`dropped a ${what}, unanswered: ${err.message}`);
    },
  };
}
