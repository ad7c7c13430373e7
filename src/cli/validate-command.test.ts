import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "./main.js";

async function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

async function configFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "rakka-validate-"));
  const path = join(dir, "rakka.toml");
  await writeFile(path, text);
  return path;
}

describe("rakka validate", () => {
  it("prints the deployments of the example config and exits 0", async () => {
    const result = await run(["validate", "--config", "examples/rakka.toml"]);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/NAME\s+MODEL\s+RUNTIME\s+REPLICAS/);
    expect(result.out).toMatch(/echo\s+echo-1\s+mock\s+1/);
    expect(result.out).toMatch(/tiny\s+.\/models\/tiny-llama.gguf\s+llama\s+1/);
  });

  it("prints every problem as path: message and exits 1", async () => {
    const path = await configFile(`
[[deployment]]
name = "a"
model = "m"
runtime = "mock"
fallbacks = ["ghost"]
[deployment.serving]
max_concurrent = -1
`);
    const result = await run(["validate", "--config", path]);
    expect(result.code).toBe(1);
    expect(result.err).toContain("deployment[0].serving.max_concurrent: ");
    expect(result.err).toContain('deployment[0].fallbacks[0]: fallback "ghost" names no deployment');
  });

  it("warns (exit 0) when a llama deployment's model file does not exist", async () => {
    const path = await configFile(`
[[deployment]]
name = "echo"
model = "echo-1"
runtime = "mock"
[[deployment]]
name = "tiny"
model = "/nonexistent/rakka/tiny.gguf"
runtime = "llama"
`);
    const result = await run(["validate", "--config", path]);
    expect(result.code).toBe(0);
    expect(result.err).toBe(
      "deployment[1].model: warning: model file not found: /nonexistent/rakka/tiny.gguf (rakka serve will fail this deployment)",
    );
    expect(result.out).toContain("2 deployment(s) valid");
    const present = await configFile("");
    const found = await configFile(`
[[deployment]]
name = "tiny"
model = ${JSON.stringify(present)}
runtime = "llama"
`);
    expect((await run(["validate", "--config", found])).err).toBe("");
  });

  it("never prints a secret value", async () => {
    const path = await configFile(`
[server]
api_keys = ["client-key-abcdef-123"]
[[deployment]]
name = "a"
model = "m"
runtime = "mock"
`);
    const result = await run(["validate", "--config", path]);
    expect(result.code).toBe(0);
    expect(result.err).toContain("server.api_keys[0]: warning: inline secret");
    expect(`${result.out}${result.err}`).not.toContain("client-key-abcdef-123");
  });

  it("refuses a missing file and a missing --config", async () => {
    expect((await run(["validate", "--config", "/nonexistent/rakka.toml"])).code).toBe(1);
    expect((await run(["validate"])).code).toBe(2);
    expect((await run(["frobnicate"])).code).toBe(2);
  });
});

describe("examples/cluster/node.toml", () => {
  it("validates with its secrets from the environment, and names each one when missing", async () => {
    const { readFile } = await import("node:fs/promises");
    const { parseConfig } = await import("../core/config/load-config.js");
    const { defaultRuntimeRegistry } = await import("../index.js");
    const text = await readFile("examples/cluster/node.toml", "utf8");
    const env = {
      REDIS_URL: "redis://:pw@127.0.0.1:6379",
      RAKKA_NODE_KEY: "k",
      RAKKA_ADMIN_KEY: "a",
      OPENAI_API_KEY: "sk-x",
    };
    const ok = parseConfig(text, {
      runtimes: defaultRuntimeRegistry(),
      secrets: { env, readFile: () => "" },
    });
    if (!ok.ok) throw new Error(JSON.stringify(ok.problems));
    expect(ok.value.cluster?.nodeId).toBe("node-a");
    expect(ok.warnings).toEqual([]);
    const missing = parseConfig(text, {
      runtimes: defaultRuntimeRegistry(),
      secrets: { env: {}, readFile: () => "" },
    });
    expect(missing.ok).toBe(false);
    if (!missing.ok)
      expect(missing.problems.map((problem) => problem.path)).toEqual(
        expect.arrayContaining(["cluster.redis_url", "cluster.node_key"]),
      );
  });
});
