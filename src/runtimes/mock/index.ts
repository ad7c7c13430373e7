// The mock runtime: deterministic tokens from the prompt's words, for tests and benchmarks.

export { type MockConfig, mockConfigSchema } from "./mock-config.js";
export {
  MockRunner,
  type MockRunnerOptions,
  mockDefaultMaxTokens,
  mockEmbedding,
  mockEmbeddingDimensions,
  mockMaxEmbeddingDimensions,
  mockRunnerFactory,
} from "./mock-runner.js";
