// How many GPUs node-llama-cpp can use on this machine (docs/cluster.md, "Placement"): asked only
// when a replica that needs GPUs is first placed here, so a node that runs no such replica never
// imports node-llama-cpp (its import and binary check cost ~300 ms and native memory).

import { sharedLlama } from "./llama-runner.js";

export interface GpuInventory {
  /** GPU devices found; 0 on a CPU build or when detection failed. */
  readonly count: number;
  /** `cuda`, `vulkan` or `metal`; absent when none was found. */
  readonly backend?: string;
  readonly devices: readonly string[];
  /** Why detection failed (then count is 0). */
  readonly error?: string;
}

/** The GPU devices node-llama-cpp finds with `gpu: "auto"` (CUDA, Vulkan or Metal). Never rejects. */
export async function detectGpus(): Promise<GpuInventory> {
  try {
    const llama = await sharedLlama("auto", 1);
    if (llama.gpu === false) return { count: 0, devices: [] };
    const devices = await llama.getGpuDeviceNames();
    return { count: devices.length, backend: llama.gpu, devices };
  } catch (error) {
    return { count: 0, devices: [], error: (error as Error).message };
  }
}
