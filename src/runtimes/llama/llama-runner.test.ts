// The ModelRunner contract, run against the real llama runner on a generated tiny model.
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { modelRunnerContract } from "../../core/model-runner.contract.js";
import { llamaConfigSchema } from "./llama-config.js";
import { LlamaRunner } from "./llama-runner.js";
import { makeModel } from "./make-model.js";

const model = join(tmpdir(), `rakka-llama-contract-${process.pid}.gguf`);

beforeAll(async () => {
  await makeModel({ out: model, size: "tiny", seed: 3, quant: "q8_0" });
});

afterAll(async () => {
  await rm(model, { force: true });
});

modelRunnerContract(
  "LlamaRunner",
  () =>
    new LlamaRunner({ config: llamaConfigSchema.parse({ context_size: 256, threads: 1 }), maxSequences: 2 }),
  { model },
);
