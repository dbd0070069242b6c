// Per-tool shaping in the catalog and the router: hide, rename (and a colliding
// rename ignored), overrides, fixed and default arguments, alwaysLoad, and
// pinning judging the backend's own definition.
import { describe, expect, test } from "bun:test";
import type { Backend, Item } from "../../src/backends/backend.ts";
import { Catalog } from "../../src/dispatch/catalog.ts";
import { Router } from "../../src/dispatch/router.ts";
import { mergeArguments, Shaper, type ToolShaping } from "../../src/dispatch/shaping.ts";
import { Subscriptions } from "../../src/dispatch/subscriptions.ts";
import { Tasks } from "../../src/dispatch/tasks.ts";
import type { Session } from "../../src/session/session.ts";

const echo: Item = {
  name: "echo",
  description: "Returns the input text",
  inputSchema: { type: "object", properties: { text: { type: "string" }, loud: { type: "boolean" } }, required: ["text", "loud"] },
};

function backend(name: string, tools: Item[]): Backend {
  const catalog = { tools, prompts: [], resources: [], resourceTemplates: [] };
  return { name, connected: true, state: "ready", config: { prefix: `${name}__` }, catalog } as unknown as Backend;
}

function built(shaping: Record<string, ToolShaping>, admit?: (b: Backend, tool: Item) => string | null) {
  const catalog = new Catalog();
  const backends = [backend("a", [echo, { name: "other", description: "x" }]), backend("b", [{ name: "echo" }])];
  catalog.rebuild(backends, 48, admit, shaping);
  return { catalog, backends };
}

describe("shaping rules", () => {
  test("an exact name wins over globs, globs in config order", () => {
    const s = Shaper.compile({ "a__*": { title: "glob" }, "*": { title: "any" }, a__echo: { title: "exact" } });
    expect(s.rule("a__echo")?.title).toBe("exact");
    expect(s.rule("a__other")?.title).toBe("glob");
    expect(s.rule("b__echo")?.title).toBe("any");
  });

  test("defaults go under the caller's arguments, fixed values over them", () => {
    const shaping = { defaults: { text: "d", n: 1 }, fixed: { loud: false } };
    expect(mergeArguments({ text: "mine", loud: true }, shaping)).toEqual({ text: "mine", n: 1, loud: false });
    expect(mergeArguments(undefined, shaping)).toEqual({ text: "d", n: 1, loud: false });
    // Not an object: left for the backend to refuse.
    expect(mergeArguments("text", shaping)).toBe("text");
  });
});

describe("the catalog", () => {
  test("no shaping: lists as before", () => {
    const { catalog } = built({});
    expect([...catalog.tools.keys()]).toEqual(["a__echo", "a__other", "b__echo"]);
    expect(catalog.tools.get("a__echo")!.item).toEqual({ ...echo, name: "a__echo" });
    expect(catalog.tools.get("a__echo")!.shaped).toBeUndefined();
  });

  test("hide removes a tool; rename moves it; overrides and alwaysLoad are listed", () => {
    const { catalog } = built({
      a__other: { hide: true },
      a__echo: { rename: "say", title: "Say", description: "Says it", alwaysLoad: true },
    });
    expect([...catalog.tools.keys()]).toEqual(["say", "b__echo"]);
    expect(catalog.hidden.has("a__other")).toBe(true);
    const say = catalog.tools.get("say")!;
    expect(say.name).toBe("echo");
    expect(say.item).toMatchObject({ name: "say", title: "Say", description: "Says it", _meta: { "anthropic/alwaysLoad": true } });
    expect(say.shaped).toEqual(["renamed", "title", "description", "alwaysLoad"]);
    expect(catalog.lists.tools.map((t) => t.name)).toEqual(["say", "b__echo"]);
    // The backend's own definition is untouched.
    expect(echo.description).toBe("Returns the input text");
  });

  test("a rename onto a name in use is ignored", () => {
    const { catalog } = built({ a__echo: { rename: "b__echo" } });
    expect([...catalog.tools.keys()]).toEqual(["a__echo", "a__other", "b__echo"]);
    expect(catalog.tools.get("b__echo")!.backend.name).toBe("b");
  });

  test("fixed arguments leave the schema, defaulted ones get a default and are optional", () => {
    const { catalog } = built({ a__echo: { fixed: { loud: true }, defaults: { text: "hi" } } });
    const entry = catalog.tools.get("a__echo")!;
    expect(entry.item.inputSchema).toEqual({ type: "object", properties: { text: { type: "string", default: "hi" } }, required: [] });
    expect(entry.args).toEqual({ defaults: { text: "hi" }, fixed: { loud: true } });
  });

  test("pinning judges the backend's own definition, before shaping", () => {
    const seen: Item[] = [];
    const { catalog } = built({ a__echo: { description: "short", rename: "renamed" }, a__other: { hide: true } }, (_b, tool) => {
      seen.push(tool);
      return null;
    });
    expect(seen.map((t) => t.description)).toEqual(["Returns the input text", "x", undefined]);
    expect(catalog.tools.get("renamed")!.item.description).toBe("short");
  });

  test("a withheld tool stays withheld under its shaped name", () => {
    const { catalog } = built({ a__echo: { rename: "say", description: "fine" } }, (_b, tool) => (tool.name === "echo" && tool.description ? "changed" : null));
    expect(catalog.tools.has("say")).toBe(false);
    expect(catalog.withheld.get("say")).toMatchObject({ reason: "changed", name: "echo" });
  });
});

describe("the router", () => {
  const session = {} as Session;
  function router(shaping: Record<string, ToolShaping>) {
    const { catalog, backends } = built(shaping);
    return new Router({ catalog, backends, ready: Promise.resolve(), subscriptions: new Subscriptions(), tasks: new Tasks() });
  }

  test("a renamed tool goes to the backend's own name with merged arguments, which RBAC judges", async () => {
    const r = router({ a__echo: { rename: "say", fixed: { loud: true }, defaults: { text: "hi" } } });
    const route = await r.resolve(session, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "say", arguments: { loud: false } } });
    expect(route.params).toEqual({ name: "echo", arguments: { text: "hi", loud: true } });
    expect(route.args).toEqual({ text: "hi", loud: true });
    expect(route.backend?.name).toBe("a");
  });

  test("hidden and renamed-away names read as unknown", async () => {
    const r = router({ a__echo: { rename: "say" }, a__other: { hide: true } });
    for (const name of ["a__echo", "a__other"]) {
      const route = await r.resolve(session, { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name } });
      expect(route.backend).toBeNull();
    }
  });
});
