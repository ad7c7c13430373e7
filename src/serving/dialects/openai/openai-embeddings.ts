// `POST /v1/embeddings` in OpenAI's shape (docs/api.md, "Embeddings"): `model`, `input` (a
// string, an array of strings, one token array, or an array of token arrays), `encoding_format`
// (float or base64: the little-endian float32 bytes), `dimensions`, `user`; answered
// `{object: "list", data: [{object: "embedding", index, embedding}], model, usage}` in input order.
// The request runs through the inference service's one request path (service.embed); errors are
// OpenAI error bodies with the usual statuses.

import type { ServerResponse } from "node:http";
import {
  type EmbeddingInput,
  type EmbeddingRequest,
  type EmbeddingResult,
  float32ToBase64,
  MAX_EMBEDDING_INPUTS,
} from "../../../core/embedding.js";
import { errors, type InferenceError, toInferenceError } from "../../../core/inference-error.js";
import { headerValue } from "../../http/dialect-route.js";
import type { GatewayRoute } from "../../http/http-gateway.js";
import type { InferenceServicePort } from "../../service-types.js";
import { openAiErrorBody } from "./openai-error-body.js";

export const EMBEDDINGS_PATH = "/v1/embeddings";

/** The header that flags the usage of an answer as an estimate (an upstream that reports none). */
export const USAGE_ESTIMATED_HEADER = "x-rakka-usage-estimated";

export type EncodingFormat = "float" | "base64";

export type EmbeddingsParse =
  | { readonly ok: true; readonly request: EmbeddingRequest; readonly encodingFormat: EncodingFormat }
  | { readonly ok: false; readonly error: InferenceError };

export interface OpenAiEmbeddingsBody {
  readonly object: "list";
  readonly data: ReadonlyArray<{
    readonly object: "embedding";
    readonly index: number;
    readonly embedding: readonly number[] | string;
  }>;
  readonly model: string;
  readonly usage: { readonly prompt_tokens: number; readonly total_tokens: number };
}

function refuse(field: string, message: string): { ok: false; error: InferenceError } {
  return { ok: false, error: errors.badRequest(`${field}: ${message}`, field) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isTokenId = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0;

const INPUT_RULE = "must be a string, an array of strings, an array of token ids or an array of token arrays";

/** `input` as texts or token arrays, or the refusal naming the offending element. */
function parseInput(
  input: unknown,
): { ok: true; input: EmbeddingInput } | { ok: false; error: InferenceError } {
  if (input === undefined || input === null) return refuse("input", "is required");
  if (typeof input === "string") {
    return input === "" ? refuse("input", "must not be empty") : { ok: true, input: [input] };
  }
  if (!Array.isArray(input)) return refuse("input", INPUT_RULE);
  if (input.length === 0) return refuse("input", "must not be empty");
  if (input.length > MAX_EMBEDDING_INPUTS)
    return refuse("input", `holds ${input.length} inputs; at most ${MAX_EMBEDDING_INPUTS} are allowed`);
  const first = input[0];
  if (typeof first === "string") {
    for (const [i, item] of input.entries()) {
      if (typeof item !== "string") return refuse(`input[${i}]`, "must be a string, as the first input is");
      if (item === "") return refuse(`input[${i}]`, "must not be an empty string");
    }
    return { ok: true, input: input as string[] };
  }
  if (typeof first === "number") {
    // one token array
    const bad = input.findIndex((item) => !isTokenId(item));
    if (bad >= 0) return refuse(`input[${bad}]`, "must be a token id (a non-negative integer)");
    return { ok: true, input: [input as number[]] };
  }
  if (Array.isArray(first)) {
    for (const [i, item] of input.entries()) {
      if (!Array.isArray(item)) return refuse(`input[${i}]`, "must be a token array, as the first input is");
      if (item.length === 0) return refuse(`input[${i}]`, "must not be empty");
      const bad = item.findIndex((id) => !isTokenId(id));
      if (bad >= 0) return refuse(`input[${i}][${bad}]`, "must be a token id (a non-negative integer)");
    }
    return { ok: true, input: input as number[][] };
  }
  return refuse("input", INPUT_RULE);
}

/** Validates a JSON-parsed `POST /v1/embeddings` body; unknown fields are ignored, as OpenAI's SDKs send some. */
export function parseEmbeddingsRequest(body: unknown): EmbeddingsParse {
  if (!isRecord(body)) return { ok: false, error: errors.badRequest("request body must be a JSON object") };
  const { model, encoding_format: format, dimensions, user, priority } = body;
  if (model === undefined || model === null) return refuse("model", "is required");
  if (typeof model !== "string" || model === "") return refuse("model", "must be a non-empty string");
  const input = parseInput(body.input);
  if (!input.ok) return input;
  let encodingFormat: EncodingFormat = "float";
  if (format !== undefined && format !== null) {
    if (format !== "float" && format !== "base64")
      return refuse("encoding_format", 'must be "float" or "base64"');
    encodingFormat = format;
  }
  if (dimensions !== undefined && dimensions !== null && !(isTokenId(dimensions) && dimensions > 0))
    return refuse("dimensions", "must be a positive integer");
  if (user !== undefined && user !== null && typeof user !== "string")
    return refuse("user", "must be a string");
  if (
    priority !== undefined &&
    priority !== null &&
    !(typeof priority === "number" && Number.isInteger(priority))
  )
    return refuse("priority", "must be an integer");
  return {
    ok: true,
    request: {
      model,
      input: input.input,
      ...(typeof dimensions === "number" ? { dimensions } : {}),
      ...(typeof user === "string" ? { user } : {}),
      priority: typeof priority === "number" ? priority : 0,
    },
    encodingFormat,
  };
}

/** The answer: one embedding per input, in input order; `model` is the one the client asked for. */
export function embeddingsBody(
  result: EmbeddingResult,
  model: string,
  encodingFormat: EncodingFormat,
): OpenAiEmbeddingsBody {
  return {
    object: "list",
    data: result.vectors.map((vector, index) => ({
      object: "embedding",
      index,
      embedding: encodingFormat === "base64" ? float32ToBase64(vector) : Array.from(vector),
    })),
    model,
    usage: { prompt_tokens: result.usage.inputTokens, total_tokens: result.usage.inputTokens },
  };
}

export interface EmbeddingsRouteDeps {
  readonly service: Pick<InferenceServicePort, "embed">;
}

const dialect = { errorBody: openAiErrorBody };

function isOpen(response: ServerResponse): boolean {
  return !response.writableEnded && !response.destroyed;
}

/** The gateway route of `POST /v1/embeddings`. */
export function embeddingsRoute(deps: EmbeddingsRouteDeps): GatewayRoute {
  return {
    path: EMBEDDINGS_PATH,
    dialect,
    actions: {
      async POST(request, response, { io }) {
        const body = await io.readJson(request, response, dialect);
        if (!body) return;
        const parsed = parseEmbeddingsRequest(body.value);
        if (!parsed.ok) {
          io.sendError(response, parsed.error, { dialect });
          return;
        }
        const model = parsed.request.model;
        // the client hung up: its request was cancelled on its behalf; nobody is left to answer
        let clientGone = false;
        let result: EmbeddingResult;
        try {
          result = await deps.service.embed(parsed.request, {
            onCancel: (cancel) =>
              response.once("close", () => {
                if (response.writableFinished) return;
                clientGone = true;
                cancel();
              }),
          });
        } catch (error) {
          if (clientGone || !isOpen(response)) return;
          io.sendError(response, toInferenceError(error), { request: { deployment: model }, dialect });
          return;
        }
        io.sendJson(response, 200, embeddingsBody(result, model, parsed.encodingFormat), {
          "x-rakka-deployment": headerValue(result.deployment),
          ...(result.node !== undefined ? { "x-rakka-node": headerValue(result.node) } : {}),
          "x-request-id": headerValue(result.requestId),
          ...(result.usage.estimated === true ? { [USAGE_ESTIMATED_HEADER]: "true" } : {}),
        });
      },
    },
  };
}
