// runtime_config of `runtime = "llama"` (a GGUF file run in-process by node-llama-cpp).

import { availableParallelism } from "node:os";
import { z } from "zod";

/**
 * Threads per context. Measured (docs/benchmarks.md, LLAMA-FACTS): on a 2-core machine 1 thread
 * is 100–400× faster than llama.cpp's default of 4 and steadier than 2; with more cores, half of
 * them (llama.cpp scales with physical cores, not hyper-threads).
 */
export function defaultThreads(cores = availableParallelism()): number {
  return cores <= 2 ? 1 : Math.floor(cores / 2);
}

export const llamaConfigSchema = z
  .strictObject({
    threads: z.int().min(1).max(256).optional(),
    /** Tokens per sequence (prompt + generation). */
    context_size: z.int().min(64).max(1_048_576).default(2048),
    /**
     * `auto` uses a GPU when node-llama-cpp finds one; `false` forces the CPU. Left out: `auto`
     * when the deployment sets `gpus`, else `false`.
     */
    gpu: z.union([z.literal("auto"), z.literal(false)]).optional(),
    /** Tokens per decode batch (llama.cpp's n_batch). */
    batch_size: z.int().min(1).max(65_536).optional(),
  })
  .transform((table) => ({
    threads: table.threads ?? defaultThreads(),
    contextSize: table.context_size,
    gpu: table.gpu,
    batchSize: table.batch_size,
  }));

export type LlamaConfig = z.output<typeof llamaConfigSchema>;
