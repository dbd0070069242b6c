// The sealed requestState of 2026-07-28 retries (pipeline/request-state.ts) and each era's result shape
// (pipeline/result-shape.ts): what a client can and cannot do with a state it holds, and what each era's
// client reads of the same result.
import { describe, expect, setSystemTime, test } from "bun:test";
import { RequestStates, type StateClaims } from "../../src/pipeline/request-state.ts";
import { digestOf } from "../../src/pipeline/request-state.ts";
import { legacyResult, modernError, modernResult } from "../../src/pipeline/result-shape.ts";
import { ModernCall } from "../../src/pipeline/modern-call.ts";
import { Session } from "../../src/session/session.ts";

const params = { name: "echo__ask", arguments: { q: "why" } };
const claims = (over: Partial<StateClaims> = {}): StateClaims =>
  ({ kind: "park", park: "1.x", sub: "jwt:iss:alice", method: "tools/call", digest: digestOf("tools/call", params), exp: Date.now() + 60_000, ...over }) as StateClaims;

describe("RequestStates", () => {
  const states = new RequestStates("k".repeat(32));

  test("a state opens for the same principal, method, target and arguments; a retry's own fields do not matter", () => {
    const state = states.seal(claims());
    const retry = { ...params, inputResponses: { a: {} }, requestState: state, _meta: { other: 1 } };
    expect(states.open(state, "jwt:iss:alice", "tools/call", retry)).toMatchObject({ kind: "park", park: "1.x" });
  });

  test("tampered, foreign, expired, or for another request: refused with -32602", () => {
    const state = states.seal(claims());
    const refused = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as { rpcCode: number; message: string }).rpcCode === -32602 ? (err as Error).message : "wrong code";
      }
      return "accepted";
    };
    const body = state.slice("sentinel1.".length, state.lastIndexOf("."));
    const forged = Buffer.from(JSON.stringify({ ...claims(), sub: "jwt:iss:mallory" })).toString("base64url");
    expect(refused(() => states.open(state.replace(body, forged), "jwt:iss:mallory", "tools/call", params))).toContain("integrity");
    expect(refused(() => states.open(state + "x", "jwt:iss:alice", "tools/call", params))).toContain("integrity");
    expect(refused(() => states.open("opaque-backend-state", "jwt:iss:alice", "tools/call", params))).toContain("not issued");
    expect(refused(() => states.open(state, "jwt:other:alice", "tools/call", params))).toContain("another principal");
    expect(refused(() => states.open(state, "jwt:iss:alice", "tools/call", { ...params, arguments: { q: "else" } }))).toContain("another request");
    expect(refused(() => states.open(state, "jwt:iss:alice", "prompts/get", params))).toContain("another request");
    expect(refused(() => new RequestStates("j".repeat(32)).open(state, "jwt:iss:alice", "tools/call", params))).toContain("integrity");
    setSystemTime(new Date(Date.now() + 120_000));
    try {
      expect(refused(() => states.open(state, "jwt:iss:alice", "tools/call", params))).toContain("expired");
    } finally {
      setSystemTime();
    }
  });

  test("a relayed backend state comes back byte for byte", () => {
    const inner = 'opaque \u00e9 "state" with / and =';
    const state = states.seal(claims({ kind: "relay", backend: "b", inner } as Partial<StateClaims>));
    expect(states.open(state, "jwt:iss:alice", "tools/call", params)).toMatchObject({ kind: "relay", backend: "b", inner });
  });
});

describe("result shapes", () => {
  const info = { name: "sentinel", version: "1" };

  test("a 2026 client: resultType always, caching hints on lists and reads, serverInfo in _meta", () => {
    expect(modernResult("tools/call", { content: [] }, info)).toEqual({ content: [], resultType: "complete", _meta: { "io.modelcontextprotocol/serverInfo": info } });
    expect(modernResult("tools/list", { tools: [], ttlMs: 60_000, cacheScope: "public" }, info)).toMatchObject({ resultType: "complete", ttlMs: 0, cacheScope: "private" });
    // input_required passes only where it is allowed, without caching hints.
    const asked = modernResult("resources/read", { resultType: "input_required", inputRequests: {} }, info);
    expect(asked.resultType).toBe("input_required");
    expect("ttlMs" in asked).toBe(false);
    expect(modernResult("tools/list", { resultType: "input_required", tools: [] }, info).resultType).toBe("complete");
  });

  test("a 2025 client: a modern backend's fields are taken off, other _meta kept", () => {
    const modern = { content: [], resultType: "complete", ttlMs: 0, cacheScope: "private", _meta: { "io.modelcontextprotocol/serverInfo": info, trace: "t" } };
    expect(legacyResult(modern)).toEqual({ content: [], _meta: { trace: "t" } });
    const plain = { content: [] };
    expect(legacyResult(plain)).toBe(plain);
  });

  test("a missing resource is -32602 with its URI for a 2026 client", () => {
    expect(modernError("resources/read", { code: -32002, message: "Resource not found" }, "x://y")).toEqual({ code: -32602, message: "Resource not found", data: { uri: "x://y" } });
    expect(modernError("tools/call", { code: -32002, message: "m" }, undefined)).toEqual({ code: -32002, message: "m" });
  });
});

test("a retry that carries a modern backend's state goes to that backend only", () => {
  const alice = { sub: "alice", roles: [], via: "local" as const, expiresAt: null };
  const envelope = { version: "2026-07-28", capabilities: {}, clientInfo: null, logLevel: null };
  const make = () => new ModernCall(new Session("s", "http", alice, () => {}), alice, { jsonrpc: "2.0", id: 1, method: "tools/call", params }, null, envelope, {});
  const call = make();
  call.relayedFrom = "a";
  expect(() => call.routed("b")).toThrow("another backend");
  call.routed("a");
  expect(call.backend).toBe("a");
  // A fresh call goes wherever its route goes.
  const fresh = make();
  fresh.routed("b");
  expect(fresh.backend).toBe("b");
});
