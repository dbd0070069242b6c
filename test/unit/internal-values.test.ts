import { describe, expect, test } from "bun:test";
import { BackendError, BackendUnavailable, toJsonRpcError } from "../../src/errors.ts";
import { dataForClient, forClient, INTERNAL, registerBackendUrl, registerInternal } from "../../src/internal-values.ts";
import { registerSecret } from "../../src/log.ts";

registerBackendUrl("http://n8n.corp.internal:5678/mcp");
registerInternal("/home/alice/.config/sentinel/sentinel.yaml");

describe("what clients may read", () => {
  test("a backend's URL, origin, host and hostname are masked, longest first", () => {
    expect(forClient("cannot reach http://n8n.corp.internal:5678/mcp: refused")).toBe(`cannot reach ${INTERNAL}: refused`);
    expect(forClient("GET http://n8n.corp.internal:5678/other failed")).toBe(`GET ${INTERNAL}/other failed`);
    expect(forClient("connect to n8n.corp.internal:5678")).toBe(`connect to ${INTERNAL}`);
    expect(forClient("lookup n8n.corp.internal failed")).toBe(`lookup ${INTERNAL} failed`);
  });

  test("registered paths and stack frames are removed", () => {
    expect(forClient("cannot read /home/alice/.config/sentinel/sentinel.yaml")).toBe(`cannot read ${INTERNAL}`);
    const stacked = "TypeError: x is undefined\n    at handle (/srv/app/server.js:10:5)\n    at process (node:internal/x:1:1)";
    expect(forClient(stacked)).toBe("TypeError: x is undefined");
    expect(forClient("failed at run (/srv/app/server.js:10:5) now")).toBe("failed now");
    // Words that merely contain "at" are left alone.
    expect(forClient("look at the data")).toBe("look at the data");
  });

  test("secrets are masked too", () => {
    registerSecret("s3cr3t-value-xyz");
    expect(forClient("token s3cr3t-value-xyz refused")).not.toContain("s3cr3t");
    expect(forClient("Bearer abcdefghijklmnop")).not.toContain("abcdefghijklmnop");
  });

  test("error data: strings masked at any depth, stack fields dropped, other values kept", () => {
    const data = { stack: "Error\n    at x (/a.js:1:1)", where: ["http://n8n.corp.internal:5678/mcp"], n: 3, ok: true };
    expect(dataForClient(data)).toEqual({ where: [INTERNAL], n: 3, ok: true });
  });

  test("the JSON-RPC mapping applies it to Sentinel's errors and to relayed ones", () => {
    expect(toJsonRpcError(new BackendUnavailable("Backend n8n: http://n8n.corp.internal:5678/mcp refused")).message).toBe(`Backend n8n: ${INTERNAL} refused`);
    const relayed = toJsonRpcError(new BackendError({ code: -32603, message: "boom\n    at f (/srv/x.js:1:2)", data: { stack: "..." } }));
    expect(relayed).toEqual({ code: -32603, message: "boom", data: {} });
  });
});
