// The llama runtime for real: a generated GGUF model, node-llama-cpp 3.21.1 on the CPU, through
// the HTTP gateway and the library API. Random weights: tests check token counts, never text.
import { copyFile, mkdtemp, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createInferenceSystem,
  defaultRuntimeRegistry,
  type InferenceSystem,
  llamaRuntimeEntry,
} from "../../src/index.js";
import { detectGpus } from "../../src/runtimes/llama/gpu-detection.js";
import type { LlamaRunner } from "../../src/runtimes/llama/llama-runner.js";
import { makeModel } from "../../src/runtimes/llama/make-model.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { sample } from "./helpers.js";

let dir: string;
let modelPath: string;
let system: InferenceSystem;
let listening: ListeningGateway;
let client: OpenAI;
const runners: Array<{ runner: LlamaRunner; deployment: string }> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rakka-llama-"));
  modelPath = join(dir, "tiny.gguf");
  await makeModel({ out: modelPath, size: "tiny", seed: 7, quant: "q8_0" });
  const registry = new Map(defaultRuntimeRegistry());
  registry.set(
    "llama",
    llamaRuntimeEntry({ onRunner: (runner, deployment) => runners.push({ runner, deployment }) }),
  );
  system = await createInferenceSystem({
    registry,
    deployments: [
      {
        name: "tiny",
        model: modelPath,
        serving: { max_concurrent: 8 },
        runtime_config: { context_size: 256, threads: 1 },
      },
      {
        name: "single",
        model: modelPath,
        serving: { max_concurrent: 1, on_capacity_exhausted: "reject" },
        runtime_config: { context_size: 256, threads: 1 },
      },
    ],
  });
  listening = await system.listen({ bind: "127.0.0.1:0" });
  client = new OpenAI({ baseURL: `${listening.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await system?.close({ drainTimeoutMs: 0 });
  if (dir) await rm(dir, { recursive: true, force: true });
});

const user = (content: string) => [{ role: "user" as const, content }];

describe("llama runtime", () => {
  it("serves unary and streaming chat through the gateway, with usage from the tokenizer", async () => {
    const unary = await client.chat.completions.create({
      model: "tiny",
      messages: user("hello there"),
      max_tokens: 12,
    });
    expect(unary.choices[0]?.finish_reason).toBe("length");
    expect(unary.usage?.completion_tokens).toBe(12);
    expect(unary.usage?.prompt_tokens).toBeGreaterThan(2);

    const stream = await client.chat.completions.create({
      model: "tiny",
      messages: user("tell me"),
      max_tokens: 10,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null | undefined;
    let pieces = 0;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) pieces++;
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(finish).toBe("length");
    expect(usage?.completion_tokens).toBe(10);
    expect(pieces).toBeGreaterThan(0);
    expect(pieces).toBeLessThanOrEqual(10);
  });

  it("runs 8 concurrent requests in shared decode steps (fewer steps than tokens)", async () => {
    const before = await system.serving.service.metricsText();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        system.complete({
          model: "tiny",
          messages: user(`request number ${i}`),
          max_tokens: 24,
          temperature: 0,
        }),
      ),
    );
    const after = await system.serving.service.metricsText();
    expect(results.map((r) => r.usage.outputTokens)).toEqual(Array(8).fill(24));
    const steps =
      (sample(after, "rakka_engine_steps_total", { deployment: "tiny" }) ?? 0) -
      (sample(before, "rakka_engine_steps_total", { deployment: "tiny" }) ?? 0);
    expect(steps).toBeGreaterThan(0);
    expect(steps).toBeLessThan(8 * 24);
    const multi =
      (sample(after, "rakka_batch_size_count", { deployment: "tiny" }) ?? 0) -
      (sample(after, "rakka_batch_size_bucket", { deployment: "tiny", le: "1" }) ?? 0);
    expect(multi).toBeGreaterThan(0); // some steps evaluated more than one sequence
  });

  it("honours max_tokens and stop strings (stop text not emitted)", async () => {
    const greedy = await system.complete({
      model: "tiny",
      messages: user("stop test"),
      max_tokens: 20,
      temperature: 0,
    });
    expect(greedy.usage.outputTokens).toBe(20);
    const text = greedy.text;
    // a stop string taken from the middle of the greedy output (3 characters of plain text)
    let at = Math.floor(text.length / 3);
    while (at < text.length - 3 && /\uFFFD/.test(text.slice(at, at + 3))) at++;
    const stop = text.slice(at, at + 3);
    expect(stop).toHaveLength(3);
    const stopped = await system.complete({
      model: "tiny",
      messages: user("stop test"),
      max_tokens: 20,
      temperature: 0,
      stop: [stop],
    });
    expect(stopped.finishReason).toBe("stop");
    expect(stopped.text).toBe(text.slice(0, text.indexOf(stop)));
    expect(stopped.usage.outputTokens).toBeLessThan(20);
  });

  it("at temperature 1 the same seed repeats the same tokens and another seed differs", async () => {
    const run = (seed: number) =>
      system.complete({ model: "single", messages: user("seeded"), max_tokens: 24, temperature: 1, seed });
    const first = await run(11);
    const again = await run(11);
    const other = await run(12);
    expect(again.text).toBe(first.text);
    expect(other.text).not.toBe(first.text);
  });

  it("without a seed, identical requests at temperature 1 sample differently (no clock-derived seed)", async () => {
    // node-llama-cpp's own default seed is the time, so identical requests within one second
    // would repeat each other; the runner draws a random seed per request instead
    const run = () => system.complete({ model: "single", messages: user("unseeded"), max_tokens: 24 });
    const texts = [await run(), await run(), await run()].map((result) => result.text);
    expect(new Set(texts).size).toBe(3);
  });

  it("an aborted stream frees its sequence for the next request", async () => {
    const controller = new AbortController();
    const response = await fetch(`${listening.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "single", stream: true, messages: user("long"), max_tokens: 200 }),
      signal: controller.signal,
    });
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    // the native generation runs on real time: retry (refused while the sequence is still held) for up
    // to 10 s, a bound a slow, loaded CI machine meets; the sequence is normally free within a few ms
    let next: Awaited<ReturnType<typeof system.complete>> | undefined;
    for (const deadline = Date.now() + 10_000; !next && Date.now() < deadline; ) {
      next = await system
        .complete({ model: "single", messages: user("next"), max_tokens: 4 })
        .catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          return undefined;
        });
    }
    expect(next?.usage.outputTokens).toBe(4);
  });

  it("refuses a prompt longer than the context with context_length_exceeded (never truncated)", async () => {
    const response = await fetch(`${listening.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny", messages: user("word ".repeat(600)) }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      "context_length_exceeded",
    );
  });

  it("a failure injected into a live runner is context_poisoned; the context is rebuilt and serves again", async () => {
    const stream = system.stream({ model: "single", messages: user("doomed"), max_tokens: 200 });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    const live = runners
      .filter((entry) => entry.deployment === "single" && entry.runner.context !== undefined)
      .map((entry) => entry.runner);
    const before = await system.serving.service.metricsText();
    // dispose the live context under its running generation: the native side now fails
    for (const runner of live) await runner.context?.dispose();
    let failure: unknown;
    try {
      for (;;) if ((await iterator.next()).done) break;
    } catch (error) {
      failure = error;
    }
    expect(failure).toMatchObject({ kind: "context_poisoned" });
    // the rebuild reloads the model on real time: retry for up to 20 s (it takes well under 1 s here)
    let recovered: Awaited<ReturnType<typeof system.complete>> | undefined;
    for (const deadline = Date.now() + 20_000; !recovered && Date.now() < deadline; ) {
      recovered = await system
        .complete({ model: "single", messages: user("after"), max_tokens: 3 })
        .catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          return undefined;
        });
    }
    expect(recovered?.usage.outputTokens).toBe(3);
    const after = await system.serving.service.metricsText();
    expect(
      (sample(after, "rakka_worker_rebuilds_total", { deployment: "single" }) ?? 0) -
        (sample(before, "rakka_worker_rebuilds_total", { deployment: "single" }) ?? 0),
    ).toBeGreaterThanOrEqual(1);
  }, 45_000);
});

describe("model files cannot crash the server", () => {
  it("fails only the deployment with a bad file, with the reason; the others keep serving", async () => {
    const truncated = join(dir, "truncated.gguf");
    await copyFile(modelPath, truncated);
    await truncate(truncated, 4000);
    const wrongMagic = join(dir, "magic.gguf");
    await writeFile(wrongMagic, Buffer.from("NOTGGUF-at-all-and-some-more-bytes"));
    const missing = join(dir, "missing.gguf");
    const bad = async (name: string, path: string) => {
      const status = await system.apply({
        name,
        model: path,
        runtime_config: { context_size: 128, threads: 1 },
      });
      expect(status.state).toBe("failed");
      return status.reason ?? "";
    };
    expect(await bad("missing", missing)).toBe(`model file not found: ${missing}`);
    expect(await bad("truncated", truncated)).toMatch(/truncated|past the end|end of file/i);
    expect(await bad("magic", wrongMagic)).toMatch(/magic/i);
    const ok = await system.complete({ model: "tiny", messages: user("still alive"), max_tokens: 2 });
    expect(ok.usage.outputTokens).toBe(2);
    const ready = await fetch(`${listening.url}/readyz`);
    expect(ready.status).toBe(200);
    const failed = await client.chat.completions
      .create({ model: "missing", messages: user("x") })
      .catch((error: unknown) => error);
    expect((failed as { status?: number }).status).toBe(503);
  }, 30_000);
});

describe("GPUs", () => {
  it("a deployment with gpus = 1 runs only where node-llama-cpp finds a free GPU, else fails naming the shortfall", async () => {
    const found = (await detectGpus()).count;
    const status = await system.apply({
      name: "on-gpu",
      model: modelPath,
      gpus: 1,
      runtime_config: { context_size: 128, threads: 1 },
    });
    if (found === 0) {
      // this machine (a CPU build of node-llama-cpp): nothing can take the replica
      expect(status.state).toBe("failed");
      expect(status.reason).toBe(
        "cannot place replica: the replica needs 1 GPU and this node has 0 free (0 found by node-llama-cpp)",
      );
    } else {
      expect(status.state).toBe("serving");
      const answer = await system.complete({ model: "on-gpu", messages: user("on a GPU"), max_tokens: 2 });
      expect(answer.usage.outputTokens).toBe(2);
    }
    await system.remove("on-gpu");
  }, 30_000);
});
