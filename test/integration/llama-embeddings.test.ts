// Embeddings and token counts on the llama runtime for real: the generated tiny GGUF, node-llama-cpp
// on the CPU, through the gateway with the official openai SDK (docs/api.md, "Embeddings").
// Random weights: the tests check shapes, determinism and counts, never meaning.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI, { BadRequestError } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import { inspectGguf } from "../../src/runtimes/llama/gguf-reader.js";
import { makeModel } from "../../src/runtimes/llama/make-model.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";

let dir: string;
let embeddingLength: number;
let system: InferenceSystem;
let listening: ListeningGateway;
let client: OpenAI;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rakka-llama-embed-"));
  const modelPath = join(dir, "tiny.gguf");
  await makeModel({ out: modelPath, size: "tiny", seed: 11, quant: "q8_0" });
  const inspected = await inspectGguf(modelPath);
  if (!inspected.ok) throw new Error(inspected.reason);
  embeddingLength = inspected.info.embeddingLength;
  system = await createInferenceSystem({
    deployments: [
      {
        name: "tiny",
        model: modelPath,
        runtime: "llama",
        serving: { max_concurrent: 2 },
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

const norm = (vector: readonly number[]) => Math.hypot(...vector);

describe("llama embeddings", () => {
  it("one finite, unit-length vector of the model's embedding_length per input; the same text alike", async () => {
    const answer = await client.embeddings.create({
      model: "tiny",
      input: ["hello world", "a different text", "hello world"],
    });
    expect(embeddingLength).toBe(128);
    expect(answer.data).toHaveLength(3);
    for (const item of answer.data) {
      expect(item.embedding).toHaveLength(embeddingLength);
      expect(item.embedding.every(Number.isFinite)).toBe(true);
      expect(norm(item.embedding)).toBeCloseTo(1, 4);
    }
    const [a, b, c] = answer.data.map((item) => item.embedding);
    expect(c).toEqual(a);
    expect(b).not.toEqual(a);
    expect(answer.usage.prompt_tokens).toBeGreaterThan(3);

    const again = await client.embeddings.create({
      model: "tiny",
      input: "hello world",
      encoding_format: "float",
    });
    expect(again.data[0]?.embedding).toEqual(a);
  });

  it("token arrays are embedded as they are; ids outside the vocabulary are a 400 naming the input", async () => {
    const answer = await client.embeddings.create({
      model: "tiny",
      input: [
        [5, 6, 7],
        [5, 6, 7],
      ],
    });
    expect(answer.data[0]?.embedding).toHaveLength(embeddingLength);
    expect(answer.data[1]?.embedding).toEqual(answer.data[0]?.embedding);
    const error = await client.embeddings
      .create({ model: "tiny", input: [[1, 10_000_000]] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toContain(
      "input[0]: token 10000000 is not in the model's vocabulary",
    );
  });

  it("dimensions other than the model's are a 400 naming dimensions", async () => {
    const error = await client.embeddings
      .create({ model: "tiny", input: "x", dimensions: 64 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).message).toContain("dimensions: this model embeds in 128 dimensions");
    const same = await client.embeddings.create({ model: "tiny", input: "x", dimensions: embeddingLength });
    expect(same.data[0]?.embedding).toHaveLength(embeddingLength);
  });

  it("an embedding and a generation on one replica both complete", async () => {
    const [embedded, generated] = await Promise.all([
      client.embeddings.create({ model: "tiny", input: ["one", "two", "three"] }),
      client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 8,
      }),
    ]);
    expect(embedded.data).toHaveLength(3);
    expect(generated.usage?.completion_tokens).toBe(8);
  });
});

describe("llama token counts", () => {
  it("counts with the model's tokenizer through its chat template, exactly as a generation's prompt_tokens", async () => {
    const messages = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "How many tokens is this prompt?" },
    ];
    const count = await system.serving.service.countTokens({
      model: "tiny",
      messages,
      sampling: {},
      stream: false,
      priority: 0,
      features: {},
    });
    const chat = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 1 });
    expect(count).toEqual({ inputTokens: chat.usage?.prompt_tokens, estimated: false });
  });
});
