// Gemini `:streamGenerateContent?alt=sse` events → TokenChunks (docs/providers.md, `runtime =
// "gemini"`): each data payload is a whole GenerateContentResponse chunk. Text parts are content,
// `thought: true` parts reasoning, each functionCall part one complete tool call whose id carries
// its thoughtSignature (gemini-tool-call-id.ts). The finish reason and the usage (last one wins)
// come out on the final chunk; a blocked prompt and an error event throw.

import { errors } from "../../../core/inference-error.js";
import type { FinishReason, TokenChunk, TokenUsage, ToolCallDelta } from "../../../core/token-chunk.js";
import type { StreamDecoder } from "../../provider.js";
import { toolCallIdWithSignature } from "./gemini-tool-call-id.js";
import type { GeminiError, GeminiResponseChunk, GeminiUsageMetadata } from "./gemini-wire.js";
import { classifyGeminiError } from "./map-gemini-error.js";

/** Finish reasons that mean a safety, recitation or policy filter stopped the output. */
const contentFilterReasons: ReadonlySet<string> = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
  "IMAGE_RECITATION",
]);

/** Finish reasons that mean the model's tool call went wrong: the attempt fails (502, retried before commit). */
const failedCallReasons: ReadonlySet<string> = new Set([
  "MALFORMED_FUNCTION_CALL",
  "UNEXPECTED_TOOL_CALL",
  "TOO_MANY_TOOL_CALLS",
]);

/** STOP, or tool_calls when the turn called tools; MAX_TOKENS → length; filters → content_filter; any other → stop. */
export function finishReasonOf(reason: string, calledTools: boolean): FinishReason {
  if (reason === "MAX_TOKENS") return "length";
  if (contentFilterReasons.has(reason)) return "content_filter";
  // STOP, LANGUAGE, OTHER, FINISH_REASON_UNSPECIFIED, NO_IMAGE and reasons newer than this table
  return calledTools ? "tool_calls" : "stop";
}

/** A count the API sent, or 0 for a missing one (or one that is not a number). */
function count(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** A JSON object (not null, not an array); a check, not a narrowing, so the wire types stay. */
function isObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function toUsage(usage: GeminiUsageMetadata): TokenUsage {
  const thoughts = count(usage.thoughtsTokenCount);
  const cached = count(usage.cachedContentTokenCount);
  return {
    inputTokens: count(usage.promptTokenCount),
    // thinking tokens are output tokens (and priced as such)
    outputTokens: count(usage.candidatesTokenCount) + thoughts,
    ...(thoughts > 0 ? { reasoningTokens: thoughts } : {}),
    ...(cached > 0 ? { cachedInputTokens: cached } : {}),
  };
}

export class GeminiStreamDecoder implements StreamDecoder {
  readonly #random: () => number;
  readonly #now: () => number;
  #nativeFinishReason: string | undefined;
  #usage: TokenUsage | undefined;
  #toolCalls = 0;
  #chunks = 0;

  /** `random` makes the tool call ids; `now` is the clock (for the wait an error event asks for). */
  constructor(random: () => number, now: () => number) {
    this.#random = random;
    this.#now = now;
  }

  onData(data: string): TokenChunk[] {
    let chunk: GeminiResponseChunk;
    try {
      chunk = JSON.parse(data) as GeminiResponseChunk;
    } catch {
      throw errors.serverError(`upstream sent a malformed stream event: ${data.slice(0, 80)}`, 502);
    }
    if (!isObject(chunk)) {
      throw errors.serverError(`upstream sent a malformed stream event: ${data.slice(0, 80)}`, 502);
    }
    if (chunk.error) {
      const error: GeminiError = isObject(chunk.error) ? chunk.error : {};
      const status = typeof error.code === "number" ? error.code : 502;
      const message = `upstream stream error: ${error.status ?? status}: ${error.message ?? "unknown"}`;
      throw classifyGeminiError(error, status, message, {}, this.#now());
    }
    if (chunk.usageMetadata !== undefined && isObject(chunk.usageMetadata))
      this.#usage = toUsage(chunk.usageMetadata);
    const candidates = Array.isArray(chunk.candidates) ? chunk.candidates.filter(isObject) : [];
    const blockReason = chunk.promptFeedback?.blockReason;
    if (blockReason !== undefined && candidates.length === 0) {
      throw errors.contentFiltered(`upstream blocked the prompt: ${blockReason}`);
    }
    const candidate = candidates.find((c) => (c.index ?? 0) === 0);
    if (candidate === undefined) return [];
    let text = "";
    let reasoning = "";
    const toolCalls: ToolCallDelta[] = [];
    const parts = candidate.content?.parts;
    for (const part of Array.isArray(parts) ? parts : []) {
      if (!isObject(part)) continue;
      if (part.functionCall !== undefined) {
        if (!isObject(part.functionCall) || typeof part.functionCall?.name !== "string") {
          throw errors.serverError(
            `upstream sent a malformed function call: ${JSON.stringify(part.functionCall).slice(0, 80)}`,
            502,
          );
        }
        const signature = typeof part.thoughtSignature === "string" ? part.thoughtSignature : undefined;
        toolCalls.push({
          index: this.#toolCalls++,
          id: toolCallIdWithSignature(this.#random, signature),
          type: "function",
          function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
          ...(signature === undefined || signature === "" ? {} : { signature }),
        });
      } else if (typeof part.text === "string") {
        // a signature on a text or thought part is not kept: Gemini only requires the calls' back
        if (part.thought === true) reasoning += part.text;
        else text += part.text;
      }
    }
    const reason = candidate.finishReason;
    if (reason !== undefined && failedCallReasons.has(reason)) {
      throw errors.serverError(`upstream model ended with ${reason}: its tool call could not be used`, 502);
    }
    if (reason !== undefined) this.#nativeFinishReason = reason;
    if (text === "" && reasoning === "" && toolCalls.length === 0) return [];
    this.#chunks++;
    return [
      {
        text,
        ...(reasoning !== "" ? { reasoning } : {}),
        ...(toolCalls.length > 0 ? { toolCalls } : {}),
      },
    ];
  }

  finish(): TokenChunk {
    if (this.#nativeFinishReason === undefined) throw errors.networkError("upstream stream ended early");
    return {
      text: "",
      finishReason: finishReasonOf(this.#nativeFinishReason, this.#toolCalls > 0),
      // Gemini always sends usageMetadata; one that did not: the chunks counted, flagged as an estimate
      usage: this.#usage ?? { inputTokens: 0, outputTokens: this.#chunks, estimated: true },
    };
  }
}
