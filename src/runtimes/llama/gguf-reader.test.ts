import { mkdir, mkdtemp, open, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GgufInspection, inspectGguf } from "./gguf-reader.js";
import { type GgufFileSpec, writeGguf } from "./gguf-writer.js";
import { generatedChatTemplate, randomLlamaModel } from "./random-llama-model.js";

let folder: string;
beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "gguf-reader-"));
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

let fileNumber = 0;
async function written(spec: GgufFileSpec): Promise<string> {
  const path = join(folder, `model-${fileNumber++}.gguf`);
  await writeGguf(path, spec);
  return path;
}

/** The tiny model's metadata with only its smallest tensor: enough for every metadata check. */
function metadataOnly(
  edit: (spec: GgufFileSpec) => GgufFileSpec["metadata"] = (spec) => spec.metadata,
): GgufFileSpec {
  const spec = randomLlamaModel({ size: "tiny", seed: 1, quant: "q8_0" });
  return {
    ...spec,
    metadata: edit(spec),
    tensors: spec.tensors.filter((t) => t.name === "output_norm.weight"),
  };
}

async function patched(path: string, at: number, bytes: Uint8Array): Promise<string> {
  const handle = await open(path, "r+");
  await handle.write(bytes, 0, bytes.length, at);
  await handle.close();
  return path;
}

function u64(value: bigint): Uint8Array {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(value);
  return bytes;
}

function refusal(result: GgufInspection): string {
  if (result.ok) throw new Error("expected the file to be refused");
  return result.reason;
}

describe("inspectGguf on the generated model", () => {
  it.each(["q8_0", "f16"] as const)("reads back the tiny %s model's metadata", async (quant) => {
    const path = join(folder, `tiny-${quant}.gguf`);
    const bytes = await writeGguf(path, randomLlamaModel({ size: "tiny", seed: 3, quant }));
    const result = await inspectGguf(path);
    if (!result.ok) throw new Error(result.reason);
    const { info } = result;
    expect(info).toMatchObject({
      version: 3,
      architecture: "llama",
      contextLength: 2048,
      embeddingLength: 128,
      blockCount: 2,
      vocabSize: 1024,
      hasChatTemplate: true,
      tensorCount: 2 + 2 * 9,
      fileType: quant === "q8_0" ? 7 : 1,
      fileBytes: bytes,
    });
    expect(info.metadata["llama.attention.head_count"]).toBe(4);
    expect(info.metadata["llama.feed_forward_length"]).toBe(512);
    expect(info.metadata["llama.attention.layer_norm_rms_epsilon"]).toBeCloseTo(1e-5, 10);
    expect(info.metadata["tokenizer.ggml.model"]).toBe("llama");
    expect(info.metadata["tokenizer.ggml.add_bos_token"]).toBe(true);
    expect(info.metadata["tokenizer.ggml.tokens"]).toEqual({
      kind: "array",
      elementType: "string",
      length: 1024,
    });
    expect(info.metadata["tokenizer.ggml.scores"]).toEqual({
      kind: "array",
      elementType: "f32",
      length: 1024,
    });
    expect(info.metadata["tokenizer.chat_template"]).toBe(generatedChatTemplate);
    // Q8_0: 34 bytes per 32 weights; F16: 2 bytes per weight (plus F32 norms, header, padding).
    expect(bytes).toBeGreaterThan(quant === "q8_0" ? 690_000 : 1_300_000);
    expect(bytes).toBeLessThan(quant === "q8_0" ? 760_000 : 1_400_000);
  });

  it("writes a byte-identical file for the same seed and a different one for another seed", async () => {
    const spec = (seed: number) => randomLlamaModel({ size: "tiny", seed, quant: "f16" });
    const [first, again, other] = await Promise.all([
      written(spec(7)).then((path) => readFile(path)),
      written(spec(7)).then((path) => readFile(path)),
      written(spec(8)).then((path) => readFile(path)),
    ]);
    expect(first.equals(again!)).toBe(true);
    expect(other!.length).toBe(first.length);
    expect(first.subarray(-4096).equals(other!.subarray(-4096))).toBe(false);
  });

  it("accepts another architecture with only the generic keys and its own context, embedding and block keys", async () => {
    const path = await written(
      metadataOnly((spec) =>
        spec.metadata
          .filter((entry) => !["llama.feed_forward_length", "llama.attention.head_count"].includes(entry.key))
          .map((entry) =>
            entry.key === "general.architecture"
              ? { key: entry.key, value: { type: "string", value: "qwen2" } }
              : { key: entry.key.replace(/^llama\./, "qwen2."), value: entry.value },
          ),
      ),
    );
    const result = await inspectGguf(path);
    if (!result.ok) throw new Error(result.reason);
    expect(result.info).toMatchObject({ architecture: "qwen2", contextLength: 2048, blockCount: 2 });
  });
});

describe("inspectGguf refuses a bad file with its reason", () => {
  it("a missing file", async () => {
    const path = join(folder, "absent", "model.gguf");
    expect(await inspectGguf(path)).toEqual({ ok: false, reason: `model file not found: ${path}` });
  });

  it("a folder", async () => {
    const path = join(folder, "a-folder.gguf");
    await mkdir(path);
    expect(refusal(await inspectGguf(path))).toMatch(/is not a regular file/);
  });

  it("a file too short to hold the magic", async () => {
    const path = join(folder, "short.gguf");
    await writeFile(path, "GG");
    expect(refusal(await inspectGguf(path))).toMatch(/truncated: header runs past the end of the file/);
  });

  it("a general.alignment that is not a power of two", async () => {
    const path = await written(
      metadataOnly((spec) =>
        spec.metadata.map((entry) =>
          entry.key === "general.alignment" ? { key: entry.key, value: { type: "u32", value: 24 } } : entry,
        ),
      ),
    );
    expect(refusal(await inspectGguf(path))).toMatch(
      /general\.alignment must be a u32 power of two, got 24$/,
    );
  });

  it("a file that is not GGUF", async () => {
    const path = join(folder, "text.gguf");
    await writeFile(path, "this is not a model, just some text\n");
    expect(refusal(await inspectGguf(path))).toMatch(/not a GGUF file \(starts with "this", not "GGUF"\)/);
  });

  it.each([1, 4])("GGUF version %d", async (version) => {
    const path = await patched(await written(metadataOnly()), 4, Uint8Array.of(version, 0, 0, 0));
    expect(refusal(await inspectGguf(path))).toMatch(
      new RegExp(`unsupported GGUF version ${version}; llama.cpp reads versions 2 and 3`),
    );
  });

  describe("a truncated file", () => {
    let complete: Buffer;
    beforeAll(async () => {
      complete = await readFile(await written(randomLlamaModel({ size: "tiny", seed: 2, quant: "q8_0" })));
    });
    const cut = async (length: number): Promise<string> => {
      const path = join(folder, `cut-${fileNumber++}.gguf`);
      await writeFile(path, complete.subarray(0, length));
      return path;
    };

    it("empty, or cut inside the header", async () => {
      expect(refusal(await inspectGguf(await cut(0)))).toMatch(
        /truncated: header runs past the end of the file/,
      );
      expect(refusal(await inspectGguf(await cut(12)))).toMatch(
        /truncated: header runs past the end of the file/,
      );
    });

    it("cut inside the metadata", async () => {
      const at = complete.indexOf("tokenizer.ggml.tokens") + 500;
      expect(refusal(await inspectGguf(await cut(at)))).toMatch(
        /truncated: metadata entry \d+ \(tokenizer\.ggml\.tokens\) runs past the end of the file/,
      );
    });

    it("cut inside the tensor infos", async () => {
      const name = "blk.1.attn_q.weight";
      expect(refusal(await inspectGguf(await cut(complete.indexOf(name) + 8)))).toMatch(
        /truncated: tensor info 11 runs past the end of the file/,
      );
      expect(refusal(await inspectGguf(await cut(complete.indexOf(name) + name.length + 6)))).toMatch(
        /truncated: tensor info 11 \(blk\.1\.attn_q\.weight\) runs past the end of the file/,
      );
    });

    it("cut inside the tensor data, at its start or by a single byte", async () => {
      const dataStart = complete.indexOf("output_norm.weight") + 100;
      expect(refusal(await inspectGguf(await cut(dataStart)))).toMatch(
        /truncated: the data of tensor token_embd\.weight ends at byte \d+, but the file has \d+ bytes/,
      );
      expect(refusal(await inspectGguf(await cut(complete.length - 1)))).toMatch(
        new RegExp(
          `the data of tensor output_norm\\.weight ends at byte ${complete.length}, but the file has`,
        ),
      );
    });

    it("a file truncated on disk, as by an interrupted copy", async () => {
      const path = await written(metadataOnly());
      await truncate(path, 1000);
      expect(refusal(await inspectGguf(path))).toMatch(/^invalid GGUF file .*: truncated: /);
    });
  });

  describe("absurd counts and lengths, before allocating anything", () => {
    it("a metadata entry count", async () => {
      const path = await patched(await written(metadataOnly()), 16, u64(1n << 62n));
      expect(refusal(await inspectGguf(path))).toMatch(
        /metadata entry count is 4611686018427387904, more than/,
      );
    });

    it("a tensor count", async () => {
      const path = await patched(await written(metadataOnly()), 8, u64(1n << 40n));
      expect(refusal(await inspectGguf(path))).toMatch(/tensor count is 1099511627776, more than/);
    });

    it("a key length", async () => {
      const path = await patched(await written(metadataOnly()), 24, u64(1n << 40n));
      expect(refusal(await inspectGguf(path))).toMatch(
        /length of a string in metadata entry 0 is 1099511627776/,
      );
    });

    it("a string length that runs past the end of the file", async () => {
      const path = await patched(await written(metadataOnly()), 24, u64(60_000n));
      expect(refusal(await inspectGguf(path))).toMatch(
        /truncated: metadata entry 0 runs past the end of the file/,
      );
    });

    it("an array length", async () => {
      const path = await written(metadataOnly());
      const at = (await readFile(path)).indexOf("tokenizer.ggml.tokens") + "tokenizer.ggml.tokens".length + 8;
      await patched(path, at, u64(1n << 50n));
      expect(refusal(await inspectGguf(path))).toMatch(
        /length of array tokenizer\.ggml\.tokens is 1125899906842624/,
      );
    });
  });

  describe("tensor infos llama.cpp would reject", () => {
    /** Where the type (u32) and data offset (u64) of the one-dimensional `output_norm.weight` are. */
    async function normInfo(): Promise<{ path: string; typeAt: number; offsetAt: number; offset: bigint }> {
      const path = await written(randomLlamaModel({ size: "tiny", seed: 4, quant: "q8_0" }));
      const bytes = await readFile(path);
      const typeAt = bytes.lastIndexOf("output_norm.weight") + "output_norm.weight".length + 4 + 8;
      return { path, typeAt, offsetAt: typeAt + 4, offset: bytes.readBigUInt64LE(typeAt + 4) };
    }

    it("a data offset that leaves a gap after the previous tensor", async () => {
      const { path, offsetAt, offset } = await normInfo();
      await patched(path, offsetAt, u64(offset + 32n));
      expect(refusal(await inspectGguf(path))).toMatch(
        new RegExp(`tensor output_norm\\.weight has data offset ${offset + 32n}, expected ${offset}$`),
      );
    });

    it("a data offset off the alignment", async () => {
      const { path, offsetAt, offset } = await normInfo();
      await patched(path, offsetAt, u64(offset + 1n));
      expect(refusal(await inspectGguf(path))).toMatch(/not a multiple of the alignment 32$/);
    });

    it("an unknown ggml type", async () => {
      const { path, typeAt } = await normInfo();
      await patched(path, typeAt, Uint8Array.of(99, 0, 0, 0));
      expect(refusal(await inspectGguf(path))).toMatch(
        /tensor output_norm\.weight has unknown or removed ggml type 99$/,
      );
    });
  });

  it.each([
    "general.architecture",
    "llama.context_length",
    "llama.embedding_length",
    "llama.block_count",
    "llama.feed_forward_length",
    "llama.attention.head_count",
    "llama.attention.layer_norm_rms_epsilon",
    "tokenizer.ggml.model",
    "tokenizer.ggml.tokens",
  ])("a llama model without %s", async (key) => {
    const path = await written(metadataOnly((spec) => spec.metadata.filter((entry) => entry.key !== key)));
    expect(refusal(await inspectGguf(path))).toBe(`invalid GGUF file ${path}: missing required key ${key}`);
  });

  it("another architecture without its block count", async () => {
    const path = await written(
      metadataOnly((spec) => [
        { key: "general.architecture", value: { type: "string", value: "phi3" } },
        { key: "phi3.context_length", value: { type: "u32", value: 4096 } },
        { key: "phi3.embedding_length", value: { type: "u32", value: 128 } },
        ...spec.metadata.filter((entry) => entry.key.startsWith("tokenizer.")),
      ]),
    );
    expect(refusal(await inspectGguf(path))).toMatch(/missing required key phi3\.block_count$/);
  });

  it("a required count of the wrong type", async () => {
    const path = await written(
      metadataOnly((spec) =>
        spec.metadata.map((entry) =>
          entry.key === "llama.attention.head_count"
            ? { key: entry.key, value: { type: "string", value: "4" } }
            : entry,
        ),
      ),
    );
    expect(refusal(await inspectGguf(path))).toMatch(
      /llama\.attention\.head_count must be a positive integer, got "4"/,
    );
  });
});
