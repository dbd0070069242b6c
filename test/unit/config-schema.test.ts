import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import { parseConfig } from "../../src/config/load.ts";
import { parseDuration } from "../../src/config/duration.ts";
import { configJsonSchema, DURATION_PATTERN } from "../../src/config/json-schema.ts";

const ROOT = join(import.meta.dir, "../..");
const schema = configJsonSchema();
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);

function errorsOf(doc: unknown): string[] {
  return validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`);
}

/** The README's config examples: its yaml blocks that configure backends. */
function readmeConfigs(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  // "sha256:…" stands for a hash from `sentinel token hash`.
  return blocks.filter((b) => /^backends:/m.test(b)).map((b) => b.replaceAll("sha256:…", `sha256:${"0".repeat(64)}`));
}

describe("config JSON Schema", () => {
  test("is draft-07, described, and names the two backend shapes", () => {
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    expect(schema.additionalProperties).toBe(false);
    const props = schema.properties as Record<string, { description?: string }>;
    for (const key of ["server", "http", "auth", "identity", "rbac", "rateLimits", "pinning", "audit", "backends", "mcpServers"]) {
      expect(props[key]?.description, key).toBeString();
    }
    expect(JSON.stringify(schema.$defs)).toContain('"#/$defs/stdioBackend"');
  });

  test("validates every file in examples/", () => {
    const files = readdirSync(join(ROOT, "examples")).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const text = readFileSync(join(ROOT, "examples", f), "utf8");
      const doc = f.endsWith(".json") ? JSON.parse(text) : Bun.YAML.parse(text);
      expect(errorsOf(doc), f).toEqual([]);
    }
  });

  test("validates the README's example configs, which the loader accepts too", () => {
    const configs = readmeConfigs();
    expect(configs.length).toBeGreaterThanOrEqual(1);
    const env = { SENTINEL_JWT_SECRET: "x".repeat(32), N8N_TOKEN: "t", SENTINEL_METRICS_TOKEN: "m".repeat(16), SENTINEL_STATE_KEY: "k".repeat(32) };
    for (const text of configs) {
      expect(errorsOf(Bun.YAML.parse(text))).toEqual([]);
      parseConfig(text, "/tmp/readme.yaml", env);
    }
  });

  test("refuses an unknown key, a wrong type, a bad duration, rate or backend shape", () => {
    expect(errorsOf({ server: { nmae: "x" } })).not.toEqual([]);
    expect(errorsOf({ http: { port: "8787" } })).not.toEqual([]);
    expect(errorsOf({ server: { timeout: "soon" } })).not.toEqual([]);
    expect(errorsOf({ rateLimits: { perIdentity: "lots" } })).not.toEqual([]);
    expect(errorsOf({ backends: { a: { args: ["x"] } } })).not.toEqual([]);
    expect(errorsOf({ backends: { a: { command: "x", url: "http://h/mcp" } } })).not.toEqual([]);
    expect(errorsOf({ backends: { a: { command: "x", headers: {} } } })).not.toEqual([]);
    expect(errorsOf({ backends: { a: { url: "http://h/mcp", env: {} } } })).not.toEqual([]);
  });

  test("takes durations, rates and ${env:...} references as the loader does", () => {
    const ok = {
      server: { timeout: "30s", startupTimeout: 1500 },
      rateLimits: { perIdentity: "600/min", tools: { a__b: "10 / s" } },
      auth: { jwt: { secret: "${env:SENTINEL_JWT_SECRET}" } },
      metrics: { token: "${file:/run/secrets/metrics}" },
      backends: { gh: { url: "${env:GH_URL}", headers: { Authorization: "Bearer ${env:GH_TOKEN}" } }, fs: { type: "stdio", command: "npx" } },
    };
    expect(errorsOf(ok)).toEqual([]);
    const pattern = new RegExp(DURATION_PATTERN);
    for (const text of ["500ms", "60s", " 5 m ", "1.5h", "1d", "soon", "5", "-1s", "5min"]) {
      expect(pattern.test(text), text).toBe(parseDuration(text) !== null);
    }
  });
});
