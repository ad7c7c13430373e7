// What the scripted mock upstream (src/testkit/mock-provider.ts) asks of one wire format: which
// paths it serves, how a client sends its key and asks to stream, and the bytes of each scripted
// answer (a completion as SSE events or one JSON body, a partial stream, an error body, an error
// event mid-stream). The server does everything wire-agnostic: scripts, stalls, drops, content
// encodings, pauses, request capture. One writer per wire: mock-openai-wire.ts,
// mock-anthropic-wire.ts, mock-gemini-wire.ts. A wire with an embeddings route (endpoint
// "embeddings") or a token-count route ("count-tokens") also reads those requests and writes
// their answers.

import type {
  CompleteBehaviour,
  MockErrorKind,
  MockFinishReason,
  ReceivedRequest,
} from "./mock-behaviours.js";

export type MockWireName = "openai" | "anthropic" | "gemini";

/** A request a wire serves: its endpoint and what its path says. */
export interface MockRoute {
  readonly wire: MockWireName;
  /** e.g. "chat", "completions" (OpenAI), "messages" (Anthropic), "generate" (Gemini). */
  readonly endpoint: string;
  /** Azure-style paths: the deployment in the path. */
  readonly deployment?: string;
  /** Gemini: the model in the path. */
  readonly model?: string;
  /** Gemini: the path itself says whether to stream (`:streamGenerateContent` vs `:generateContent`). */
  readonly stream?: boolean;
}

/** One server-sent event: `event:` when named, `data:` the JSON of `data` (a string as is). */
export interface MockSseEvent {
  readonly event?: string;
  readonly data: unknown;
}

/** What a wire writer knows about the request it answers. */
export interface MockAnswerContext {
  readonly route: MockRoute;
  readonly request: ReceivedRequest;
  /** A per-request id, e.g. "chatcmpl-mock-3" or "msg_mock_3". */
  readonly id: string;
  /** The model the client named (body or path), else "mock-model". */
  readonly model: string;
  readonly stream: boolean;
}

/** A scripted error as a wire writes it: its kind picks the wire's error type, status and code. */
export interface MockWireError {
  readonly kind: MockErrorKind;
  readonly status: number;
  readonly message: string;
  /** Seconds a rate-limited answer asks the client to wait (Gemini's RetryInfo carries it in the body). */
  readonly retryAfterSeconds?: number;
}

export interface MockWire {
  readonly name: MockWireName;
  /** The route of `method path`, or undefined when this wire does not serve it. */
  match(method: string, path: string): MockRoute | undefined;
  /** The key the client sent, as this wire sends keys (Bearer, api-key, x-api-key, x-goog-api-key, ?key=). */
  apiKey(request: Pick<ReceivedRequest, "headers" | "query">): string | undefined;
  /** Whether the request asked for a stream. */
  streams(route: MockRoute, body: unknown): boolean;
  /** The id of the `n`th answer (0-based arrival index). */
  answerId(route: MockRoute, n: number): string;
  /**
   * A whole completion as a stream: every event in order, the wire's terminator included
   * (OpenAI's `data: [DONE]`, Anthropic's `message_stop`).
   */
  streamEvents(behaviour: CompleteBehaviour, context: MockAnswerContext): MockSseEvent[];
  /** A whole completion as one JSON body. */
  unaryBody(behaviour: CompleteBehaviour, context: MockAnswerContext): unknown;
  /** The first events of a stream that carries `chunks` content pieces "chunk1", " chunk2", … and no end. */
  partialEvents(chunks: number, context: MockAnswerContext): MockSseEvent[];
  /** The JSON body of an HTTP error answer. */
  errorBody(error: MockWireError): unknown;
  /**
   * Headers the wire adds to an error answer, beside the behaviour's own (the server itself sends
   * `retry-after` when `retryAfterSeconds` is set).
   */
  errorHeaders?(error: MockWireError): Readonly<Record<string, string>>;
  /**
   * The status this wire answers a scripted error with, when it differs from the scripted one
   * (e.g. `overloaded()`'s 529 is a 503 outside Anthropic). Default: `error.status`. Only for
   * errors the wire writes the body of (not a behaviour's own `body`).
   */
  errorStatus?(error: MockWireError): number;
  /** An error sent as an event inside a 200 stream (Anthropic's `event: error`, OpenAI's `data: {"error"}`). */
  streamErrorEvent(error: MockWireError): MockSseEvent;
  /** The wire's own finish reason for a neutral one (e.g. Anthropic "tool_calls" → "tool_use"). */
  finishReason(reason: MockFinishReason): string;
  /** Its embeddings route: the inputs of a request (texts or token arrays) and the dimensions asked. */
  embeddingRequest?(request: ReceivedRequest): MockEmbeddingRequest;
  /** Its embeddings route: the JSON body of an answer. */
  embeddingsBody?(answer: MockEmbeddingsAnswer, context: MockAnswerContext): unknown;
  /** Its token-count route: the default count (the words of the request's prompt). */
  countTokensDefault?(request: ReceivedRequest): number;
  /** Its token-count route: the JSON body of an answer. */
  countTokensBody?(inputTokens: number, context: MockAnswerContext): unknown;
}

/** What an embedding request asked for, as its wire sends it. */
export interface MockEmbeddingRequest {
  readonly inputs: ReadonlyArray<string | readonly number[]>;
  readonly dimensions?: number;
}

/** What an embeddings answer carries, whatever the wire. */
export interface MockEmbeddingsAnswer {
  /** One vector per input, in input order. */
  readonly vectors: readonly (readonly number[])[];
  /** Undefined: the answer reports no usage. */
  readonly promptTokens: number | undefined;
  /** List them in reverse order (each keeps its index, where the wire has one). */
  readonly reversed: boolean;
}
