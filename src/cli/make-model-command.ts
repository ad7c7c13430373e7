// `rakka make-model --out FILE [--size tiny|small|medium] [--seed N] [--quant f16|q8_0] [--if-missing]`:
// writes the generated llama model (random weights, real architecture) that `npm start` and the
// tests serve; with --if-missing an existing file is left alone. `rakka serve` never calls this.

import { stat } from "node:fs/promises";
import { makeModel } from "../runtimes/llama/make-model.js";
import {
  type ModelQuant,
  type ModelSize,
  modelQuantNames,
  modelSizeNames,
} from "../runtimes/llama/random-llama-model.js";
import type { CommandIo } from "./validate-command.js";

export interface MakeModelArgs {
  readonly out: string;
  readonly size: ModelSize;
  readonly seed: number;
  readonly quant: ModelQuant;
  /** Leave an existing file alone (print `exists: PATH`) instead of replacing it. */
  readonly ifMissing: boolean;
}

/** What `rakka make-model` writes when an option is not given. */
export const makeModelDefaults = { size: "tiny", seed: 42, quant: "q8_0" } as const satisfies Omit<
  MakeModelArgs,
  "out" | "ifMissing"
>;

export async function makeModelCommand(args: MakeModelArgs, io: CommandIo): Promise<number> {
  if (args.out.length === 0) {
    io.err("rakka make-model: --out FILE is required");
    return 2;
  }
  if (!modelSizeNames.includes(args.size)) {
    io.err(`rakka make-model: --size must be one of ${modelSizeNames.join(", ")}, got "${args.size}"`);
    return 2;
  }
  if (!modelQuantNames.includes(args.quant)) {
    io.err(`rakka make-model: --quant must be one of ${modelQuantNames.join(", ")}, got "${args.quant}"`);
    return 2;
  }
  if (!Number.isSafeInteger(args.seed) || args.seed < 0 || args.seed > 0xffffffff) {
    io.err(`rakka make-model: --seed must be an integer from 0 to 4294967295, got ${args.seed}`);
    return 2;
  }
  if (args.ifMissing && (await exists(args.out))) {
    io.out(`exists: ${args.out}`);
    return 0;
  }
  const started = performance.now();
  try {
    const made = await makeModel(args);
    const seconds = (performance.now() - started) / 1000;
    io.out(
      `wrote ${made.path} (${(made.bytes / 1e6).toFixed(1)} MB, ${args.size} ${args.quant}, seed ${args.seed}) in ${seconds.toFixed(2)} s`,
    );
    return 0;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    io.err(`rakka make-model: cannot write ${args.out}: ${code ?? (error as Error).message}`);
    return 1;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
