// Gemini's token count (`POST {prefix}/{api_version}/models/{model}:countTokens`, key in
// `x-goog-api-key`): the whole generateContent request the batch would send (contents, system
// instruction, tools, generation config) as `generateContentRequest`, answered `{totalTokens}`.

import type { ExecuteBatch } from "../../../core/batch.js";
import type { TokenCount } from "../../../core/embedding.js";
import { errors } from "../../../core/inference-error.js";
import { convertToGeminiRequest } from "./convert-to-gemini-request.js";
import type { GeminiRequest } from "./gemini-wire.js";

export interface GeminiCountTokensBody {
  readonly generateContentRequest: GeminiRequest & { readonly model: string };
}

/** Throws the conversion's InferenceError (400 naming the field) for what Gemini cannot take. */
export function geminiCountTokensBody(batch: ExecuteBatch, upstreamModel: string): GeminiCountTokensBody {
  return {
    generateContentRequest: {
      model: `models/${upstreamModel}`,
      ...convertToGeminiRequest(batch, upstreamModel),
    },
  };
}

export function parseGeminiCountTokens(body: string): TokenCount {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw errors.serverError("upstream countTokens answer is not JSON", 200);
  }
  const total =
    typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>).totalTokens
      : undefined;
  // Gemini leaves zero counts out of its JSON
  if (total === undefined) return { inputTokens: 0, estimated: false };
  if (typeof total !== "number" || !Number.isInteger(total) || total < 0)
    throw errors.serverError("upstream countTokens answer has no totalTokens count", 200);
  return { inputTokens: total, estimated: false };
}
