// The public testkit (`rakka-inference/testkit`): test doubles users run their own deployments
// and tests against: the manual clock, the mock runtime's runner and config schema, and the
// scripted mock upstream with its behaviours and wire writers (docs/providers.md).

export { type MockConfig, mockConfigSchema } from "../runtimes/mock/mock-config.js";
export { MockRunner, type MockRunnerOptions, mockRunnerFactory } from "../runtimes/mock/mock-runner.js";
export { flushMicrotasks, ManualClock, until } from "./manual-clock.js";
export { anthropicWire } from "./mock-anthropic-wire.js";
export {
  badRequest,
  type CompleteBehaviour,
  complete,
  contentFiltered,
  contextLengthExceeded,
  type DropMidStreamBehaviour,
  dropMidStream,
  type ErrorBehaviour,
  type ErrorMidStreamBehaviour,
  errorKindOf,
  errorMidStream,
  errorResponse,
  errorStatusOf,
  forbidden,
  type MalformedSseBehaviour,
  type MislabelledEncodingBehaviour,
  type MockBehaviour,
  type MockContentEncoding,
  type MockDefaultBehaviour,
  type MockErrorKind,
  type MockFinishReason,
  type MockToolCall,
  type MockUsage,
  malformedSse,
  mislabelledEncoding,
  type NotAnEventStreamBehaviour,
  notAnEventStream,
  type OpenAiErrorBody,
  openAiErrorBody,
  overloaded,
  type ReceivedRequest,
  rateLimited,
  type StallBeforeFirstByteBehaviour,
  type StallMidStreamBehaviour,
  serverError,
  stallBeforeFirstByte,
  stallMidStream,
  type UnauthorizedUnlessKeyBehaviour,
  unauthorized,
  unauthorizedUnlessKey,
} from "./mock-behaviours.js";
export { geminiWire } from "./mock-gemini-wire.js";
export { openAiUnknownUrlBody, openAiWire } from "./mock-openai-wire.js";
export { type MockProvider, type MockProviderOptions, startMockProvider } from "./mock-provider.js";
export type {
  MockAnswerContext,
  MockRoute,
  MockSseEvent,
  MockWire,
  MockWireError,
  MockWireName,
} from "./mock-wire.js";
