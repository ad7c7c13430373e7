// makeModel: writes the generated llama model (random-llama-model.ts) to a GGUF file, creating its
// folder. Called by `rakka make-model` (npm start runs it with --if-missing before serving).

import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { writeGguf } from "./gguf-writer.js";
import { type ModelQuant, type ModelSize, randomLlamaModel } from "./random-llama-model.js";

export interface MakeModelOptions {
  /** The GGUF file to write (replaced if it exists). */
  readonly out: string;
  readonly size: ModelSize;
  /** Any integer; only its low 32 bits matter. The same seed writes a byte-identical file. */
  readonly seed: number;
  readonly quant: ModelQuant;
}

export interface MadeModel {
  readonly path: string;
  readonly bytes: number;
}

export async function makeModel(options: MakeModelOptions): Promise<MadeModel> {
  await mkdir(dirname(options.out), { recursive: true });
  const bytes = await writeGguf(options.out, randomLlamaModel(options));
  return { path: options.out, bytes };
}
