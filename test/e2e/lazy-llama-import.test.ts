// node-llama-cpp (a native binding) is imported only when a llama deployment loads its weights:
// a child process whose module loader refuses the package serves a mock deployment, and the same
// child with a llama deployment fails on that import (so the refusal really watches the import).
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeModel } from "../../src/runtimes/llama/make-model.js";

const root = join(import.meta.dirname, "..", "..");
let folder: string;
let modelPath: string;

// a loader hook, registered before the app loads, that fails any import of node-llama-cpp
const refuseLlama = `
import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(
  'export async function resolve(specifier, context, next) {' +
  '  if (specifier === "node-llama-cpp" || specifier.startsWith("node-llama-cpp/")) throw new Error("node-llama-cpp was imported");' +
  '  return next(specifier, context);' +
  '}'));
`;

function runChild(deployment: Record<string, unknown>): Promise<{ code: number; output: string }> {
  const script = `
const { createInferenceSystem } = await import(${JSON.stringify(pathToFileURL(join(root, "dist", "index.js")).href)});
const system = await createInferenceSystem({ deployments: [${JSON.stringify(deployment)}] });
try {
  const result = await system.complete({ model: "d", messages: [{ role: "user", content: "one two" }], max_tokens: 2 });
  console.log("served " + result.usage.outputTokens);
} finally {
  await system.close({ drainTimeoutMs: 0 });
}
`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [
        "--import",
        `data:text/javascript,${encodeURIComponent(refuseLlama)}`,
        "--input-type=module",
        "-e",
        script,
      ],
      { cwd: root, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "lazy-llama-"));
  modelPath = join(folder, "tiny.gguf");
  await makeModel({ out: modelPath, size: "tiny", seed: 1, quant: "q8_0" });
});

afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("node-llama-cpp is imported lazily", () => {
  it("serves a mock deployment without ever importing node-llama-cpp", async () => {
    const { code, output } = await runChild({ name: "d", model: "echo", runtime: "mock" });
    expect(output).toContain("served 2");
    expect(output).not.toContain("node-llama-cpp was imported");
    expect(code).toBe(0);
  });

  it("imports it for a llama deployment (the refusal above is real)", async () => {
    const { output } = await runChild({ name: "d", model: modelPath, runtime: "llama" });
    expect(output).toContain("node-llama-cpp was imported");
    expect(output).not.toContain("served");
  });
});
