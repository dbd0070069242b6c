import { describe, expect, test } from "bun:test";
import {
  BackendError,
  BackendTimeout,
  BackendUnavailable,
  ConfigError,
  InternalError,
  InvalidParams,
  InvalidRequest,
  MessageTooLarge,
  MethodNotFound,
  ParseError,
  ShuttingDown,
  UnknownTarget,
  toJsonRpcError,
  toSentinelError,
} from "../../src/errors.ts";

describe("toJsonRpcError", () => {
  test.each([
    ["ParseError", new ParseError("bad json"), -32700],
    ["InvalidRequest", new InvalidRequest("bad"), -32600],
    ["MessageTooLarge", new MessageTooLarge(1024), -32600],
    ["MethodNotFound", new MethodNotFound("foo/bar"), -32601],
    ["InvalidParams", new InvalidParams("nope"), -32602],
    ["UnknownTarget", new UnknownTarget("tool", "x"), -32602],
    ["BackendUnavailable", new BackendUnavailable("down"), -32000],
    ["ShuttingDown", new ShuttingDown(), -32000],
    ["BackendTimeout", new BackendTimeout("b", 5), -32001],
    ["InternalError", new InternalError("oops"), -32603],
  ] as const)("%s maps to its code", (_name, err, code) => {
    const out = toJsonRpcError(err);
    expect(out.code).toBe(code);
    expect(out.message).toBe(err.message);
    expect("data" in out).toBe(false);
  });

  test("messages name the details", () => {
    expect(toJsonRpcError(new MethodNotFound("foo/bar")).message).toContain("foo/bar");
    expect(toJsonRpcError(new BackendTimeout("slowpoke", 1234)).message).toContain("slowpoke");
    expect(toJsonRpcError(new BackendTimeout("slowpoke", 1234)).message).toContain("1234");
    expect(toJsonRpcError(new MessageTooLarge(4096)).message).toContain("4096");
  });

  test("unknown thrown values become -32603", () => {
    for (const thrown of [new Error("boom"), new TypeError("t"), "a string", 42, null, undefined, { x: 1 }]) {
      const out = toJsonRpcError(thrown);
      expect(out.code).toBe(-32603);
      expect(typeof out.message).toBe("string");
    }
    // What went wrong inside is for the log: the client reads no message, path or stack.
    expect(toJsonRpcError(new Error("boom at /srv/app/db.ts:12")).message).toBe("Internal error");
  });

  test("a ConfigError (not a SentinelError) is internal over JSON-RPC", () => {
    expect(toJsonRpcError(new ConfigError(["x: bad"])).code).toBe(-32603);
  });

  test("BackendError relays code, message and data unchanged", () => {
    const data = { detail: [1, 2, { deep: true }] };
    const out = toJsonRpcError(new BackendError({ code: -31999, message: "backend says no", data }));
    expect(out).toEqual({ code: -31999, message: "backend says no", data });
  });

  test("BackendError without data has no data key", () => {
    const out = toJsonRpcError(new BackendError({ code: 123, message: "m" }));
    expect(out).toEqual({ code: 123, message: "m" });
    expect("data" in out).toBe(false);
  });

  test("falsy data (0, null, false) is relayed", () => {
    for (const data of [0, null, false, ""]) {
      expect(toJsonRpcError(new BackendError({ code: 1, message: "m", data })).data).toBe(data);
    }
  });

  test("toSentinelError keeps SentinelErrors as they are", () => {
    const e = new InvalidParams("p");
    expect(toSentinelError(e)).toBe(e);
    expect(toSentinelError("x")).toBeInstanceOf(InternalError);
  });

  test("ConfigError lists its issues in the message", () => {
    const e = new ConfigError(["a.b: one", "c: two"]);
    expect(e.issues).toEqual(["a.b: one", "c: two"]);
    expect(e.message).toContain("a.b: one");
    expect(e.message).toContain("c: two");
  });
});
