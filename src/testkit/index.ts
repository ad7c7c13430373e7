// The public testkit (`rakka-inference/testkit`): test doubles users run their own deployments
// and tests against: the manual clock and the mock runtime's runner and config schema.

export { type MockConfig, mockConfigSchema } from "../runtimes/mock/mock-config.js";
export { MockRunner, type MockRunnerOptions, mockRunnerFactory } from "../runtimes/mock/mock-runner.js";
export { flushMicrotasks, ManualClock, until } from "./manual-clock.js";
export {
  badRequest,
  type CompleteBehaviour,
  complete,
  contentFiltered,
  contextLengthExceeded,
  type DropMidStreamBehaviour,
  dropMidStream,
  type ErrorBehaviour,
  errorResponse,
  forbidden,
  type MalformedSseBehaviour,
  type MockBehaviour,
  type MockDefaultBehaviour,
  type MockFinishReason,
  type MockProvider,
  type MockProviderOptions,
  type MockToolCall,
  type MockUsage,
  malformedSse,
  type OpenAiErrorBody,
  openAiErrorBody,
  type ReceivedRequest,
  rateLimited,
  type StallBeforeFirstByteBehaviour,
  type StallMidStreamBehaviour,
  serverError,
  stallBeforeFirstByte,
  stallMidStream,
  startMockProvider,
  type UnauthorizedUnlessKeyBehaviour,
  unauthorized,
  unauthorizedUnlessKey,
} from "./mock-provider.js";
