import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { RuntimeSchemas } from "./deployment-schema.js";
import { parseConfig } from "./load-config.js";
import { secretSchema } from "./secret-schema.js";

// A registry as the CLI fills it: a local runtime and a remote one with a secret.
const runtimes: RuntimeSchemas = new Map([
  [
    "mock",
    {
      transport: "local" as const,
      configSchema: z.strictObject({ tokens_per_second: z.number().min(0).default(0) }),
    },
  ],
  [
    "openai",
    {
      transport: "remote" as const,
      configSchema: z.strictObject({ api_key: secretSchema, base_url: z.url().optional() }),
    },
  ],
]);
const secrets = { env: { OPENAI_API_KEY: "sk-test-value-123" }, readFile: () => "" };
const load = (text: string, env: Record<string, string> = secrets.env) =>
  parseConfig(text, { runtimes, secrets: { env, readFile: () => "" } });

describe("parseConfig", () => {
  it("accepts a good file and applies the defaults", () => {
    const result = load(`
[server]
bind = "127.0.0.1:9000"

[[deployment]]
name = "echo"
model = "echo-1"
runtime = "mock"

[[deployment]]
name = "gpt-4o"
model = "gpt-4o"
replicas = 2
[deployment.serving]
max_concurrent = 8
[deployment.runtime_config]
api_key = { from_env = "OPENAI_API_KEY" }
`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { server, deployments } = result.value;
    expect(server).toMatchObject({ host: "127.0.0.1", port: 9000, maxBodyBytes: 4 * 1024 * 1024 });
    expect(server.requestTimeoutMs).toBe(600_000);
    expect(server.drainTimeoutMs).toBe(30_000);
    expect(server.responsesTtlS).toBe(3_600);
    expect(server.responsesMaxStored).toBe(10_000);
    expect(deployments.map((d) => [d.name, d.runtime, d.replicas])).toEqual([
      ["echo", "mock", 1],
      ["gpt-4o", "openai", 2],
    ]);
    expect(deployments[0]?.serving).toEqual({
      maxConcurrent: 32,
      queueCapacity: 256,
      onCapacityExhausted: "queue",
      queueTimeoutMs: 30_000,
    });
    expect(deployments[1]?.serving.maxConcurrent).toBe(8);
    expect(deployments[0]?.idempotent).toBe(true);
    expect(deployments[0]?.runtimeConfig).toEqual({ tokens_per_second: 0 });
    expect(JSON.stringify(deployments)).not.toContain("sk-test-value-123");
  });

  it("takes the Responses API's store settings from [server]", () => {
    const result = load(`
[server]
responses_ttl_s = 600
responses_max_stored = 50
`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.server).toMatchObject({ responsesTtlS: 600, responsesMaxStored: 50 });
  });

  it("lists several errors at once, each with its path", () => {
    const result = load(`
[server]
bind = "nowhere"
request_timeout_ms = -5

[[deployment]]
model = "echo-1"
runtime = "mock"
[deployment.serving]
max_concurrent = 0
on_capacity_exhausted = "panic"

[[deployment]]
name = "x"
model = "gpt-4o"
[deployment.runtime_config]
base_url = "not a url"
`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.problems.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        "server.bind",
        "server.request_timeout_ms",
        "deployment[0].name",
        "deployment[0].serving.max_concurrent",
        "deployment[0].serving.on_capacity_exhausted",
        "deployment[1].runtime_config.api_key",
        "deployment[1].runtime_config.base_url",
      ]),
    );
    expect(result.problems.find((p) => p.path === "deployment[0].name")?.message).toBe("is required");
  });

  it("refuses an unknown key by name, at every level", () => {
    const result = load(`
[server]
bnd = "127.0.0.1:1"
[[deployment]]
name = "echo"
model = "echo-1"
runtime = "mock"
replica = 3
[deployment.runtime_config]
tokens_per_secnd = 5
`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual(
      expect.arrayContaining([
        { path: "server.bnd", message: "unknown key" },
        { path: "deployment[0].replica", message: "unknown key" },
        { path: "deployment[0].runtime_config.tokens_per_secnd", message: "unknown key" },
      ]),
    );
  });

  it("refuses a fallbacks entry naming no deployment, or the deployment itself", () => {
    const result = load(`
[[deployment]]
name = "a"
model = "m"
runtime = "mock"
fallbacks = ["missing", "a"]
`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual(
      expect.arrayContaining([
        { path: "deployment[0].fallbacks[0]", message: 'fallback "missing" names no deployment' },
        { path: "deployment[0].fallbacks[1]", message: "a deployment cannot fall back to itself" },
      ]),
    );
  });

  it("names a missing environment variable, never a value", () => {
    const result = load(
      `
[[deployment]]
name = "gpt"
model = "gpt-4o"
[deployment.runtime_config]
api_key = { from_env = "MISSING_KEY" }
`,
      {},
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      {
        path: "deployment[0].runtime_config.api_key",
        message: "environment variable MISSING_KEY is not set",
      },
    ]);
  });

  it("warns about an inline secret but accepts it", () => {
    const result = load(`
[[deployment]]
name = "gpt"
model = "gpt-4o"
[deployment.runtime_config]
api_key = "sk-inline-for-tests"
`);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings.map((w) => w.path)).toEqual(["deployment[0].runtime_config.api_key"]);
    expect(JSON.stringify(result.warnings)).not.toContain("sk-inline-for-tests");
  });

  it("refuses runtimes and keys this build does not provide as not available", () => {
    const result = load(`
[[deployment]]
name = "claude"
model = "claude-3-5-sonnet"

[[deployment]]
name = "llm"
model = "m"
runtime = "warp-drive"

[[deployment]]
name = "b"
model = "m"
runtime = "mock"
gpus = [0]

[[deployment]]
name = "c"
model = "m"
runtime = "openai"
gpus = 1
runtime_config = { api_key = "k" }
`);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual([
      { path: "deployment[0].runtime", message: 'runtime "anthropic" is not available in this build' },
      { path: "deployment[1].runtime", message: expect.stringContaining('unknown runtime "warp-drive"') },
      { path: "deployment[2].gpus", message: expect.stringContaining("expected number") },
      {
        path: "deployment[3].gpus",
        message: '"gpus" applies to local runtimes only (openai runs at its provider)',
      },
    ]);
  });

  it("refuses a budget without prices, and a budget without any limit", () => {
    const result = load(`
[[deployment]]
name = "free"
model = "m"
runtime = "mock"
[deployment.budget]
max_spend_per_day_usd = 5

[[deployment]]
name = "limitless"
model = "m"
runtime = "mock"
[deployment.pricing]
input_per_million_usd = 1
output_per_million_usd = 2
[deployment.budget]
on_exceeded = "warn"
`);
    expect(result.ok === false && result.problems).toEqual([
      {
        path: "deployment[0].budget",
        message: 'a budget needs prices: the mock runtime has none for "m"; set [deployment.pricing]',
      },
      { path: "deployment[1].budget", message: "set max_spend_per_hour_usd, max_spend_per_day_usd or both" },
    ]);
  });

  it("refuses duplicate deployment names and reports invalid TOML", () => {
    const duplicate = load(`
[[deployment]]
name = "a"
model = "m"
runtime = "mock"
[[deployment]]
name = "a"
model = "m"
runtime = "mock"
`);
    expect(duplicate.ok === false && duplicate.problems).toEqual([
      { path: "deployment[1].name", message: 'duplicate deployment name "a"' },
    ]);
    const broken = load(`[[deployment]\nname = `);
    expect(broken.ok === false && broken.problems[0]?.message).toMatch(/^TOML syntax error/);
  });

  it("reports where a TOML syntax error is, by line and column", () => {
    const result = load(`[server]\nbind = "127.0.0.1:9000"\nmax = nope\n`);
    expect(result.ok === false && result.problems).toEqual([
      { path: "(file)", message: "TOML syntax error at line 3, column 7: invalid value" },
    ]);
    const table = load(`[[deployment]\nname = "a"\n`);
    expect(table.ok === false && table.problems).toEqual([
      {
        path: "(file)",
        message: "TOML syntax error at line 1, column 14: expected end of table array declaration",
      },
    ]);
  });

  it("names the expected and received types for a wrong type, never 'is required'", () => {
    const result = load(`
[server]
max_body_bytes = "big"
[[deployment]]
name = "a"
model = "m"
runtime = "mock"
idempotent = "yes"
[deployment.runtime_config]
tokens_per_second = "many"
[[deployment]]
name = "b"
model = "gpt-4o"
runtime = "openai"
[deployment.runtime_config]
api_key = 5
base_url = 5
`);
    expect(result.ok === false && result.problems).toEqual([
      { path: "server.max_body_bytes", message: "expected number, received string" },
      { path: "deployment[0].idempotent", message: "expected boolean, received string" },
      { path: "deployment[0].runtime_config.tokens_per_second", message: "expected number, received string" },
      { path: "deployment[1].runtime_config.api_key", message: "expected string or object, received number" },
      { path: "deployment[1].runtime_config.base_url", message: "expected string, received number" },
    ]);
    const deployment = load("deployment = 5");
    expect(deployment.ok === false && deployment.problems).toEqual([
      { path: "deployment", message: "expected array, received number" },
    ]);
    const server = load("server = 5");
    expect(server.ok === false && server.problems).toEqual([
      { path: "server", message: "expected object, received number" },
    ]);
  });

  it("still says 'is required' for a missing secret (a union of types)", () => {
    const result = load(`
[[deployment]]
name = "b"
model = "gpt-4o"
runtime = "openai"
[deployment.runtime_config]
base_url = "https://example.test/v1"
`);
    expect(result.ok === false && result.problems).toEqual([
      { path: "deployment[0].runtime_config.api_key", message: "is required" },
    ]);
  });
});

describe("parseConfig: [cluster]", () => {
  const base = `[[deployment]]\nname = "echo"\nmodel = "echo-1"\nruntime = "mock"\n`;
  const env = { ...secrets.env, REDIS_URL: "redis://:s3cret-pw@127.0.0.1:6390", NODE_KEY: "node-key-1" };

  it("without [cluster] the config has no cluster", () => {
    const result = load(base);
    expect(result.ok && result.value.cluster).toBe(undefined);
  });

  it("applies the defaults and keeps the secrets unprinted", () => {
    const result = load(
      `[cluster]\nredis_url = { from_env = "REDIS_URL" }\nnode_key = { from_env = "NODE_KEY" }\n${base}`,
      env,
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    const cluster = result.value.cluster;
    expect(cluster).toMatchObject({
      keyPrefix: "rakka:",
      heartbeatMs: 1000,
      nodeTimeoutMs: 3000,
      onStoreUnavailable: "open",
      egress: true,
    });
    expect(cluster?.redisUrl.reveal()).toBe("redis://:s3cret-pw@127.0.0.1:6390");
    expect(JSON.stringify(cluster)).not.toContain("s3cret-pw");
    expect(JSON.stringify(cluster)).not.toContain("node-key-1");
  });

  it("an inline URL without a password is no warning; node_key inline is", () => {
    const result = load(`[cluster]\nredis_url = "redis://127.0.0.1:6379"\nnode_key = "k"\n${base}`);
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    expect(result.warnings.map((warning) => warning.path)).toEqual(["cluster.node_key"]);
  });

  it("lists every problem by path, never the URL's password", () => {
    const result = load(
      `[cluster]\nredis_url = "http://:pw-9@h"\nheartbeat_ms = 5000\nnode_timeout_ms = 3000\non_store_unavailable = "maybe"\nsurprise = 1\n${base}`,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const paths = result.problems.map((problem) => problem.path);
    expect(paths).toEqual(
      expect.arrayContaining(["cluster.node_key", "cluster.on_store_unavailable", "cluster.surprise"]),
    );
    expect(JSON.stringify(result.problems)).toContain("surprise");
    expect(JSON.stringify(result.problems)).not.toContain("pw-9");
  });

  it("a bad scheme and a timeout not above the heartbeat are refused by path", () => {
    const result = load(
      `[cluster]\nredis_url = "http://:pw-9@h"\nnode_key = "k"\nheartbeat_ms = 5000\nnode_timeout_ms = 3000\n${base}`,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toEqual(
      expect.arrayContaining([
        { path: "cluster.node_timeout_ms", message: "must be greater than heartbeat_ms (5000)" },
        expect.objectContaining({ path: "cluster.redis_url" }),
      ]),
    );
    expect(JSON.stringify(result.problems)).not.toContain("pw-9");
  });
});
