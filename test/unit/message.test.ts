import { describe, expect, test } from "bun:test";
import { InvalidRequest, ParseError } from "../../src/errors.ts";
import {
  failure,
  idOf,
  isNotification,
  isRequest,
  isResponse,
  parseJson,
  success,
  toMessage,
} from "../../src/jsonrpc/message.ts";

function rejects(v: unknown) {
  expect(() => toMessage(v)).toThrow(InvalidRequest);
}

describe("toMessage", () => {
  test("accepts a request", () => {
    const raw = { jsonrpc: "2.0", id: 7, method: "tools/list", params: { cursor: "a" } };
    const m = toMessage(raw);
    expect(m).toEqual(raw as never);
    expect(isRequest(m)).toBe(true);
    expect(isNotification(m)).toBe(false);
    expect(isResponse(m)).toBe(false);
  });

  test("accepts a request with a string id and no params", () => {
    const m = toMessage({ jsonrpc: "2.0", id: "abc", method: "ping" });
    expect(isRequest(m)).toBe(true);
  });

  test("accepts a notification", () => {
    const m = toMessage({ jsonrpc: "2.0", method: "notifications/initialized" });
    expect(isNotification(m)).toBe(true);
    expect(isRequest(m)).toBe(false);
    expect(isResponse(m)).toBe(false);
  });

  test("accepts success and error responses", () => {
    const ok = toMessage({ jsonrpc: "2.0", id: 1, result: {} });
    expect(isResponse(ok)).toBe(true);
    const err = toMessage({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "x" } });
    expect(isResponse(err)).toBe(true);
  });

  test("rejects arrays (batches) and non-objects", () => {
    rejects([{ jsonrpc: "2.0", id: 1, method: "ping" }]);
    rejects([]);
    rejects(null);
    rejects("ping");
    rejects(42);
  });

  test("rejects a missing or wrong jsonrpc version", () => {
    rejects({ id: 1, method: "ping" });
    rejects({ jsonrpc: "1.0", id: 1, method: "ping" });
    rejects({ jsonrpc: 2, id: 1, method: "ping" });
  });

  test("rejects a non-string method", () => {
    rejects({ jsonrpc: "2.0", id: 1, method: 5 });
  });

  test("rejects bad id types on requests", () => {
    for (const id of [null, true, {}, [1], 1.5 / 0, Number.NaN]) {
      rejects({ jsonrpc: "2.0", id, method: "ping" });
    }
  });

  test("rejects params that are arrays or not objects", () => {
    rejects({ jsonrpc: "2.0", id: 1, method: "m", params: [1, 2] });
    rejects({ jsonrpc: "2.0", id: 1, method: "m", params: null });
    rejects({ jsonrpc: "2.0", id: 1, method: "m", params: "x" });
    rejects({ jsonrpc: "2.0", method: "m", params: [1] });
  });

  test("rejects responses with both or neither of result and error, or without id", () => {
    rejects({ jsonrpc: "2.0", id: 1, result: {}, error: { code: 1, message: "x" } });
    rejects({ jsonrpc: "2.0", id: 1 });
    rejects({ jsonrpc: "2.0", result: {} });
  });

  test("rejects a result that is not an object and an error without a numeric code and a string message", () => {
    for (const result of [5, "x", null, [1]]) rejects({ jsonrpc: "2.0", id: 1, result });
    for (const error of ["x", null, { code: "1", message: "m" }, { code: 1 }, { message: "m" }]) rejects({ jsonrpc: "2.0", id: 1, error });
  });

  // A response id must be a string or number (null only on an error).
  test("rejects bad id types on responses", () => {
    rejects({ jsonrpc: "2.0", id: { x: 1 }, result: {} });
    rejects({ jsonrpc: "2.0", id: true, error: { code: 1, message: "x" } });
  });

  test("the thrown error carries code -32600", () => {
    try {
      toMessage([]);
      throw new Error("not thrown");
    } catch (e) {
      expect((e as InvalidRequest).rpcCode).toBe(-32600);
    }
  });
});

describe("parseJson", () => {
  test("parses valid JSON", () => {
    expect(parseJson('{"a":[1,2]}')).toEqual({ a: [1, 2] });
  });

  test("throws ParseError with code -32700 on invalid JSON", () => {
    for (const bad of ["{", "", "{'a':1}", "[1,]"]) {
      let caught: unknown;
      try {
        parseJson(bad);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(ParseError);
      expect((caught as ParseError).rpcCode).toBe(-32700);
    }
  });
});

describe("idOf", () => {
  test("returns string and number ids", () => {
    expect(idOf({ id: 3 })).toBe(3);
    expect(idOf({ id: "x" })).toBe("x");
    expect(idOf({ id: 0 })).toBe(0);
  });

  test("returns null for missing or unusable ids", () => {
    expect(idOf({})).toBeNull();
    expect(idOf({ id: null })).toBeNull();
    expect(idOf({ id: {} })).toBeNull();
    expect(idOf({ id: Infinity })).toBeNull();
    expect(idOf([1])).toBeNull();
    expect(idOf("x")).toBeNull();
    expect(idOf(null)).toBeNull();
  });
});

describe("success / failure", () => {
  test("build well-formed responses that toMessage accepts", () => {
    expect(isResponse(toMessage(success(1, { ok: true })))).toBe(true);
    expect(isResponse(toMessage(failure(null, { code: -1, message: "m" })))).toBe(true);
  });
});
