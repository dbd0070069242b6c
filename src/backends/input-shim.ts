// A modern backend asks for sampling, elicitation or roots by answering
// `input_required` (MRTR) instead of sending a request. For a caller that
// cannot take such a result (a 2025 client, or Sentinel itself), each input
// request is asked through the caller's onRequest, which reaches its client
// as a real request, and the original request is retried under a new id with
// the answers and the byte-exact requestState, as SDK v2's legacy shim does.
// Failures read per family, as there: tools/call as an isError result,
// prompts/get and resources/read as a JSON-RPC error.

import { BackendUnavailable, InternalError } from "../errors.ts";
import type { Params } from "../jsonrpc/message.ts";
import { isObject } from "./modern-envelope.ts";
import { CancelSignal, type RequestOptions, type Result } from "./request.ts";

/** The methods a modern server may answer with input_required. */
export const INPUT_METHODS: ReadonlySet<string> = new Set(["tools/call", "prompts/get", "resources/read"]);

// The shim holds the caller's request open meanwhile: rounds are capped lower than a client's 10.
const MAX_ROUNDS = 8;
// A round that carries only requestState has no human in it to slow the loop down.
const STATE_ONLY_PACING_MS = 250;
const KINDS = new Set(["elicitation/create", "sampling/createMessage", "roots/list"]);

type Asked = { key: string; method: string; params: Params | undefined };

export async function fulfilInputRequired(
  method: string,
  params: Params | undefined,
  first: Result,
  options: RequestOptions,
  retry: (params: Params) => Promise<Result>,
): Promise<Result> {
  let current = first;
  for (let round = 1; ; round++) {
    if (round > MAX_ROUNDS) return failed(method, `it still required input after ${MAX_ROUNDS} rounds`);
    const requests = isObject(current.inputRequests) ? current.inputRequests : {};
    const state = typeof current.requestState === "string" ? current.requestState : undefined;
    const keys = Object.keys(requests);
    if (keys.length === 0 && state === undefined) return failed(method, "the backend asked for input without saying what");
    let responses: Record<string, unknown> | undefined;
    if (keys.length > 0) {
      const answered = await ask(requests, options);
      if (typeof answered === "string") return failed(method, answered);
      responses = answered;
    } else {
      await Bun.sleep(STATE_ONLY_PACING_MS);
    }
    if (options.cancel?.cancelled) throw new BackendUnavailable(`Request cancelled: ${options.cancel.reason}`);
    current = await retry({ ...params, ...(responses && { inputResponses: responses }), ...(state !== undefined && { requestState: state }) });
    if (current.resultType !== "input_required") return current;
  }
}

/** Asks every input request of a round at once; the answers by key, or why they could not be had. */
async function ask(requests: Record<string, unknown>, options: RequestOptions): Promise<Record<string, unknown> | string> {
  if (!options.onRequest) return "no client is there to answer it";
  const asked: Asked[] = [];
  for (const [key, entry] of Object.entries(requests)) {
    if (!isObject(entry) || typeof entry.method !== "string" || !KINDS.has(entry.method)) return `input request ${key} is not sampling, elicitation or roots`;
    let p = isObject(entry.params) ? entry.params : undefined;
    if (!p && entry.method !== "roots/list") return `input request ${key} has no params`;
    // The 2025 wire requires an id for a URL-mode elicitation; 2026 has none.
    if (p && entry.method === "elicitation/create" && p.mode === "url" && p.elicitationId === undefined) p = { ...p, elicitationId: crypto.randomUUID() };
    asked.push({ key, method: entry.method, params: p });
  }
  const legs = asked.map(() => new CancelSignal());
  const stopAll = (reason: string) => legs.forEach((l) => l.cancel(reason));
  options.cancel?.onCancel(stopAll);
  try {
    const answers = await Promise.all(
      asked.map((a, i) =>
        options.onRequest!({ jsonrpc: "2.0", id: `input-${a.key}`, method: a.method, ...(a.params && { params: a.params }) }, legs[i]!).catch((err: unknown) => {
          // One refusal fails the round: the others are withdrawn rather than left with the client.
          stopAll("another input request failed");
          throw err;
        }),
      ),
    );
    return Object.fromEntries(asked.map((a, i) => [a.key, answers[i]]));
  } catch (err) {
    if (options.cancel?.cancelled) throw new BackendUnavailable(`Request cancelled: ${options.cancel.reason}`);
    return (err as Error).message;
  } finally {
    options.cancel?.onCancel(null);
  }
}

function failed(method: string, why: string): Result {
  const message = `Fulfilling input required by ${method} failed: ${why}`;
  if (method === "tools/call") return { content: [{ type: "text", text: message }], isError: true };
  throw new InternalError(message);
}
