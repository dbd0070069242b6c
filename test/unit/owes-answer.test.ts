import { describe, expect, test } from "bun:test";
import { describeUnanswered, owesAnswer } from "../../src/jsonrpc/message.ts";

describe("owesAnswer (JSON-RPC 2.0: notifications and responses are never answered, valid or not)", () => {
  test("notifications: a string method and no id, whatever else is wrong", () => {
    for (const n of [
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", method: "notifications/initialized", params: [1, 2] },
      { jsonrpc: "1.0", method: "x", params: "nope" },
      { method: "", result: {} },
      { method: "x", params: null, extra: true },
    ]) {
      expect(owesAnswer(n)).toBe(false);
    }
  });

  test("responses: no method, with result or error, or an id alone", () => {
    for (const r of [
      { jsonrpc: "2.0", id: 1, result: {} },
      { jsonrpc: "2.0", id: 1, result: {}, error: { code: 1, message: "both" } },
      { jsonrpc: "2.0", id: {}, result: {} },
      { jsonrpc: "2.0", result: {} },
      { jsonrpc: "2.0", id: null, error: "not an object" },
      { jsonrpc: "2.0", id: 5 },
      { id: "x" },
    ]) {
      expect(owesAnswer(r)).toBe(false);
    }
  });

  test("requests are answered, invalid ones too (under id null when theirs is unusable)", () => {
    for (const r of [
      { jsonrpc: "2.0", id: 1, method: "ping" },
      { jsonrpc: "2.0", id: null, method: "ping" },
      { jsonrpc: "2.0", id: {}, method: "ping" },
      { jsonrpc: "2.0", id: 1, method: "ping", params: [1] },
      { id: 7, method: "tools/list" },
      // JSON-RPC 2.0's own examples of invalid requests: a non-string method, no method at all, not an object.
      { jsonrpc: "2.0", method: 1, params: "bar" },
      { foo: "boo" },
      { jsonrpc: "2.0", id: 3, params: {} },
      1,
      "x",
      null,
      [],
    ]) {
      expect(owesAnswer(r)).toBe(true);
    }
  });

  test("the log line names the method or id, bounded, never the params", () => {
    expect(describeUnanswered({ method: "notifications/x", params: { secret: "s3cret" } })).toBe('notification "notifications/x"');
    expect(describeUnanswered({ method: "m".repeat(500) }).length).toBeLessThan(100);
    expect(describeUnanswered({ id: 9, result: { secret: "s3cret" } })).toBe("response to id 9");
    expect(describeUnanswered({ id: {}, result: {} })).toBe("response");
  });
});
