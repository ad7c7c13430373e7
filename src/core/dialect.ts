// A dialect is one client wire the gateway speaks (docs/architecture.md, "Dialects"): it parses a
// client's body into the neutral request, and encodes the neutral answer back — a unary body, the
// framed events of a stream, an error body. OpenAI chat completions and legacy completions are
// dialects (src/serving/dialects/openai/); the gateway picks one per route and knows no wire itself.

import type { Message, ReasoningBlock, SamplingParams, ToolCall } from "./batch.js";
import type { InferenceError } from "./inference-error.js";
import type { RequestFeatures } from "./request-features.js";
import type { FinishReason, TokenChunk, TokenUsage } from "./token-chunk.js";

/** A validated client request, whatever wire it came in on: what the inference service runs. */
export interface ServiceRequest {
  /** The deployment name (OpenAI's `model`). */
  readonly model: string;
  readonly messages: readonly Message[];
  readonly sampling: SamplingParams;
  readonly stream: boolean;
  /** Lower runs first; default 0. */
  readonly priority: number;
  readonly features: RequestFeatures;
}

/** A whole answer, as a unary response is built from it. */
export interface CompletionResult {
  readonly requestId: string;
  /** The deployment that served it. */
  readonly deployment: string;
  /** The node whose engine ran it (`x-rakka-node`), once routed. */
  readonly node?: string;
  readonly text: string;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: FinishReason;
  readonly usage: TokenUsage;
  /** The model's refusal (OpenAI-family upstreams), when it refused. */
  readonly refusal?: string;
  /** The model's reasoning text, when it sent any (never part of `text`). */
  readonly reasoning?: string;
  /** The signed reasoning blocks, in order, when the provider sent any. */
  readonly reasoningBlocks?: readonly ReasoningBlock[];
}

/**
 * A dialect's parse: the neutral request, and the dialect's own `state` its answer needs (OpenAI:
 * whether a stream ends with usage; the Responses API: the items to store), or the refusal.
 */
export type DialectParse<S = unknown> =
  | { readonly ok: true; readonly request: ServiceRequest; readonly state: S }
  | { readonly ok: false; readonly error: InferenceError };

/** What a dialect knows about the client beyond its body. */
export interface DialectContext {
  /**
   * Who the client is: an opaque id derived from the key it authenticated with ("" when the server
   * takes no keys), never the key itself. Stored state (the Responses API's) belongs to it.
   */
  readonly clientId: string;
  /** Milliseconds from the injected clock. */
  readonly nowMs: number;
}

/** What every answer names: the request, the model the client asked for, the time. */
export interface AnswerContext {
  readonly requestId: string;
  /** The `model` of the client's request (the deployment name it asked for). */
  readonly model: string;
  /** Milliseconds from the injected clock. */
  readonly nowMs: number;
}

/**
 * Frames one streamed answer as server-sent events: every method returns the exact bytes to write
 * (`event:`/`data:` lines and the blank line), so a dialect owns its framing. The gateway calls
 * `start` once after the headers, `chunk` per committed chunk, then `finish` or `fail` once.
 */
export interface StreamEncoder {
  /** The opening events (OpenAI chat: the role-only delta); "" when the wire has none. */
  start(): string;
  /** The events for one chunk; undefined when it carries nothing the client is shown. */
  chunk(chunk: TokenChunk): string | undefined;
  /**
   * The events that end a finished stream: the finish reason, usage when asked, the terminator. A
   * promise when the dialect keeps the answer first (a stored response is readable once its
   * stream has ended).
   */
  finish(reason: FinishReason, usage: TokenUsage | undefined): string | Promise<string>;
  /** The event that ends a stream failing after commit: the error, never a success terminator. */
  fail(error: InferenceError, status: number): string;
}

/** The part of a dialect every answer of its routes needs, errors before parsing included. */
export interface ErrorDialect {
  /** The JSON body of an error answered with `status` (src/core/http-error.ts decides the status). */
  errorBody(error: InferenceError, status: number): unknown;
}

export interface Dialect<S = unknown> extends ErrorDialect {
  /** e.g. "openai-chat"; named in logs. */
  readonly name: string;
  /**
   * Validates a JSON-parsed body; a refusal names the offending field (400 bad_request). A promise
   * when parsing reads stored state (the Responses API's `previous_response_id`).
   */
  parse(body: unknown, context: DialectContext): DialectParse<S> | Promise<DialectParse<S>>;
  /** The JSON body of a unary answer (a promise when the dialect stores it first). */
  unaryBody(result: CompletionResult, context: AnswerContext, state: S): unknown;
  /** A stream's encoder. */
  streamEncoder(context: AnswerContext, state: S): StreamEncoder;
}
