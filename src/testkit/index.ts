// The public testkit (`rakka-inference/testkit`): test doubles users run their own deployments
// and tests against: the manual clock and the mock runtime's runner and config schema.

export { type MockConfig, mockConfigSchema } from "../runtimes/mock/mock-config.js";
export { MockRunner, type MockRunnerOptions, mockRunnerFactory } from "../runtimes/mock/mock-runner.js";
export { flushMicrotasks, ManualClock } from "./manual-clock.js";
