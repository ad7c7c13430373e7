import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, LlamaLogLevel, resolveChatWrapper, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inspectGguf } from "./gguf-reader.js";
import { makeModel } from "./make-model.js";

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "make-model-"));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("makeModel", () => {
  it("creates the parent folders and writes a model the reader accepts", async () => {
    const out = join(folder, "nested", "models", "tiny.gguf");
    const made = await makeModel({ out, size: "tiny", seed: 42, quant: "q8_0" });
    expect(made).toEqual({ path: out, bytes: (await stat(out)).size });
    const inspected = await inspectGguf(out);
    expect(inspected.ok).toBe(true);
  });

  it("llama.cpp (node-llama-cpp 3.21.1) loads the tiny model, applies its ChatML template and generates 8 tokens", async () => {
    const out = join(folder, "tiny-f16.gguf");
    await makeModel({ out, size: "tiny", seed: 42, quant: "f16" });
    const logged: string[] = [];
    const llama = await getLlama({
      gpu: false,
      build: "never",
      maxThreads: 1,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => logged.push(`${level}: ${message}`),
    });
    try {
      const model = await llama.loadModel({ modelPath: out });
      const context = await model.createContext({ contextSize: 256, sequences: 1 });
      const prompt = model.tokenize("Hello world, what is the time?");
      expect(prompt.length).toBeGreaterThan(3);
      expect(prompt.length).toBeLessThan(20);

      const chatWrapper = resolveChatWrapper(model);
      expect(chatWrapper.wrapperName).toBe("ChatML");
      const chat = chatWrapper
        .generateContextState({
          chatHistory: [
            { type: "user", text: "hi" },
            { type: "model", response: [] },
          ],
        })
        .contextText.tokenize(model.tokenizer);
      const [turnStart, turnEnd] = model.tokenize("<|im_start|><|im_end|>", true);
      expect(chat[0]).toBe(model.tokens.bos);
      expect(chat).toContain(turnStart);
      expect(chat).toContain(turnEnd);

      const generated: Token[] = [];
      for await (const token of context.getSequence().evaluate(prompt, { temperature: 0 })) {
        generated.push(token);
        if (generated.length === 8) break;
      }
      expect(generated).toHaveLength(8);
      expect(generated.every((token) => token >= 0 && token < 1024)).toBe(true);
      expect(logged).toEqual([]);
      await context.dispose();
      await model.dispose();
    } finally {
      await llama.dispose();
    }
  });
});
