// The peer wire (docs/cluster.md): how a forwarded request and its answer travel between nodes,
// pure serialisation with no I/O. The entry node POSTs one JSON request body (versioned, every
// ExecuteBatch field but the signal, the deadline as the time left); the owning node answers with
// NDJSON frames, one per line: {"c":chunk} per TokenChunk, then {"end":1} or {"e":error}. A call
// refused before anything streamed gets a JSON error body instead ({"error":error}).
//
// Three kinds of request (`kind`, absent for a generation): "execute" (a generation, answered by
// chunk frames), "embed" (every EmbedBatch field but the signal, answered by one embeddings frame
// {"em":{v: [vector as base64 of little-endian float32], u: usage}}) and "count-tokens" (an
// ExecuteBatch, answered by one token-count frame {"tk":{inputTokens, estimated}}).
//
// Decoding refuses unknown fields and other versions, so a newer sender fails loudly rather than
// losing data. Frames carry no version: the owning node answers in the version it accepted.
//
// Chunk frames are the hot path (one per token) and use short keys:
//   chunk          { t: text, tc?: toolCalls, r?: refusal, rs?: reasoning, rb?: reasoningBlocks,
//                    fr?: finishReason, u?: usage }
//   toolCalls[i]   { i: index, id?: id, ty?: type, fn?: { n?: name, a?: arguments }, sg?: signature }
// usage (once per stream), the request and errors keep their field names.

import { z } from "zod";
import type { ExecuteBatch, Message, ReasoningBlock, SamplingParams } from "../core/batch.js";
import { joinPath } from "../core/config/problem.js";
import { valueAt, zodProblems } from "../core/config/zod-problems.js";
import {
  base64ToFloat32,
  type EmbedBatch,
  type Embeddings,
  type EmbeddingUsage,
  float32ToBase64,
  type TokenCount,
} from "../core/embedding.js";
import {
  errors,
  InferenceError,
  type InferenceErrorDetails,
  type InferenceErrorKind,
} from "../core/inference-error.js";
import { type RequestFeatures, reasoningEfforts } from "../core/request-features.js";
import type { TokenChunk, TokenUsage, ToolCallDelta } from "../core/token-chunk.js";

/** The version every request carries as `v`; a node refuses any other. */
export const PEER_WIRE_VERSION = 4;

/** How many problems a refusal names before it counts the rest. */
const MAX_PROBLEMS = 5;

/**
 * T with every key spelled out (optional ones may hold undefined, which JSON.stringify and
 * `withoutUndefined` drop): an encoder or decoder typed with it stops compiling when T gains a field.
 */
type AllKeys<T> = { [K in keyof Required<T>]: T[K] };

// ---- the request -------------------------------------------------------------------------------

const contentPartSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text"), text: z.string() }),
  z.strictObject({
    type: z.literal("image"),
    source: z.discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("url"), url: z.string() }),
      z.strictObject({ kind: z.literal("base64"), mediaType: z.string(), data: z.string() }),
    ]),
    detail: z.enum(["auto", "low", "high"]).optional(),
  }),
]);

const toolCallSchema = z.strictObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.strictObject({ name: z.string(), arguments: z.string() }),
  signature: z.string().optional(),
});

const reasoningBlockSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("thinking"), thinking: z.string(), signature: z.string() }),
  z.strictObject({ type: z.literal("redacted_thinking"), data: z.string() }),
]) satisfies z.ZodType<ReasoningBlock>;

const messageSchema = z.strictObject({
  role: z.enum(["system", "user", "assistant", "tool", "developer"]),
  content: z.union([z.string(), z.array(contentPartSchema), z.null()]),
  name: z.string().optional(),
  toolCallId: z.string().optional(),
  toolCalls: z.array(toolCallSchema).optional(),
  reasoningBlocks: z.array(reasoningBlockSchema).optional(),
  toolError: z.boolean().optional(),
}) satisfies z.ZodType<Message>;

const samplingSchema = z.strictObject({
  temperature: z.number().optional(),
  topP: z.number().optional(),
  topK: z.number().optional(),
  maxTokens: z.number().optional(),
  stop: z.array(z.string()).optional(),
  presencePenalty: z.number().optional(),
  frequencyPenalty: z.number().optional(),
  seed: z.number().optional(),
}) satisfies z.ZodType<SamplingParams>;

const jsonObjectWire = z.record(z.string(), z.unknown());
const featuresSchema = z.strictObject({
  tools: z
    .array(
      z.strictObject({
        name: z.string(),
        description: z.string().optional(),
        parameters: jsonObjectWire.optional(),
        strict: z.boolean().optional(),
      }),
    )
    .optional(),
  toolChoice: z
    .union([z.enum(["auto", "none", "required"]), z.strictObject({ name: z.string() })])
    .optional(),
  parallelToolCalls: z.boolean().optional(),
  responseFormat: z
    .discriminatedUnion("type", [
      z.strictObject({ type: z.literal("text") }),
      z.strictObject({ type: z.literal("json_object") }),
      z.strictObject({
        type: z.literal("json_schema"),
        name: z.string(),
        description: z.string().optional(),
        schema: jsonObjectWire.optional(),
        strict: z.boolean().optional(),
      }),
    ])
    .optional(),
  reasoningEffort: z.enum(reasoningEfforts).optional(),
  user: z.string().optional(),
}) satisfies z.ZodType<RequestFeatures>;

const batchFields = {
  requestId: z.string(),
  model: z.string(),
  messages: z.array(messageSchema),
  sampling: samplingSchema,
  stream: z.boolean(),
  priority: z.number(),
  estimatedTokens: z.number(),
  features: featuresSchema,
  /** The deadline as ms left on the sender's clock; absent when the batch has none. */
  remainingMs: z.number().min(0).optional(),
};

const requestSchema = z.strictObject({
  v: z.literal(PEER_WIRE_VERSION),
  kind: z.literal("execute").optional(),
  ...batchFields,
});

const countTokensSchema = z.strictObject({
  v: z.literal(PEER_WIRE_VERSION),
  kind: z.literal("count-tokens"),
  ...batchFields,
});

const embedSchema = z.strictObject({
  v: z.literal(PEER_WIRE_VERSION),
  kind: z.literal("embed"),
  requestId: z.string(),
  model: z.string(),
  input: z.union([z.array(z.string()), z.array(z.array(z.number()))]),
  dimensions: z.number().optional(),
  user: z.string().optional(),
  priority: z.number(),
  estimatedTokens: z.number(),
  remainingMs: z.number().min(0).optional(),
});

/** What a peer request asks for: a generation, an embedding, or a token count. */
export type PeerRequestKind = "execute" | "embed" | "count-tokens";

const REQUEST_KINDS = '"execute", "embed" or "count-tokens"';

type RequestWire = AllKeys<Omit<ExecuteBatch, "signal" | "deadline">> & {
  readonly v: number;
  readonly kind: "count-tokens" | undefined;
  readonly remainingMs: number | undefined;
};

type EmbedWire = AllKeys<Omit<EmbedBatch, "signal" | "deadline">> & {
  readonly v: number;
  readonly kind: "embed";
  readonly remainingMs: number | undefined;
};

/** The deadline as the time left on the sender's clock: none for an infinite one, never negative. */
function remainingOf(deadline: number | undefined, now: number): number | undefined {
  return deadline === undefined || deadline === Number.POSITIVE_INFINITY
    ? undefined
    : Math.max(0, deadline - now);
}

/**
 * Request body of a generation (or, with `kind` "count-tokens", of a token count). `now` is the
 * sender's clock (ms): the deadline travels as the time remaining.
 */
export function encodePeerRequest(
  batch: ExecuteBatch,
  now: number,
  kind: "execute" | "count-tokens" = "execute",
): string {
  const wire: RequestWire = {
    v: PEER_WIRE_VERSION,
    kind: kind === "count-tokens" ? kind : undefined,
    requestId: batch.requestId,
    model: batch.model,
    messages: batch.messages.map(encodeMessage),
    sampling: encodeSampling(batch.sampling),
    stream: batch.stream,
    priority: batch.priority,
    estimatedTokens: batch.estimatedTokens,
    features: encodeFeatures(batch.features),
    // an infinite deadline is no deadline; a passed one arrives as 0 ms left
    remainingMs: remainingOf(batch.deadline, now),
  };
  return JSON.stringify(wire);
}

/** Request body of an embedding request; the deadline travels as for a generation. */
export function encodePeerEmbedRequest(batch: EmbedBatch, now: number): string {
  const wire: EmbedWire = {
    v: PEER_WIRE_VERSION,
    kind: "embed",
    requestId: batch.requestId,
    model: batch.model,
    input: batch.input,
    dimensions: batch.dimensions,
    user: batch.user,
    priority: batch.priority,
    estimatedTokens: batch.estimatedTokens,
    remainingMs: remainingOf(batch.deadline, now),
  };
  return JSON.stringify(wire);
}

function encodeMessage(message: Message): AllKeys<Message> {
  const content = message.content;
  return {
    role: message.role,
    content:
      content === null || typeof content === "string"
        ? content
        : content.map((part) =>
            part.type === "text"
              ? { type: part.type, text: part.text }
              : {
                  type: part.type,
                  source:
                    part.source.kind === "url"
                      ? { kind: "url" as const, url: part.source.url }
                      : { kind: "base64" as const, mediaType: part.source.mediaType, data: part.source.data },
                  detail: part.detail,
                },
          ),
    name: message.name,
    toolCallId: message.toolCallId,
    toolCalls: message.toolCalls?.map((call) => ({
      id: call.id,
      type: call.type,
      function: { name: call.function.name, arguments: call.function.arguments },
      signature: call.signature,
    })),
    reasoningBlocks: message.reasoningBlocks?.map(encodeReasoningBlock),
    toolError: message.toolError,
  };
}

function encodeReasoningBlock(block: ReasoningBlock): ReasoningBlock {
  return block.type === "thinking"
    ? { type: block.type, thinking: block.thinking, signature: block.signature }
    : { type: block.type, data: block.data };
}

function encodeSampling(sampling: SamplingParams): AllKeys<SamplingParams> {
  return {
    temperature: sampling.temperature,
    topP: sampling.topP,
    topK: sampling.topK,
    maxTokens: sampling.maxTokens,
    stop: sampling.stop,
    presencePenalty: sampling.presencePenalty,
    frequencyPenalty: sampling.frequencyPenalty,
    seed: sampling.seed,
  };
}

function encodeFeatures(features: RequestFeatures): AllKeys<RequestFeatures> {
  return {
    tools: features.tools,
    toolChoice: features.toolChoice,
    parallelToolCalls: features.parallelToolCalls,
    responseFormat: features.responseFormat,
    reasoningEffort: features.reasoningEffort,
    user: features.user,
  };
}

/** The receiving node's reading of a request body: the batch of its kind, or why it was refused. */
export type PeerRequestDecoded =
  | { readonly ok: true; readonly kind: "execute" | "count-tokens"; readonly batch: ExecuteBatch }
  | { readonly ok: true; readonly kind: "embed"; readonly batch: EmbedBatch }
  | { readonly ok: false; readonly problem: string };

/** `now` is the receiver's clock; the decoded batch's deadline = now + remaining; `signal` is attached as batch.signal. */
export function decodePeerRequest(body: string, now: number, signal: AbortSignal): PeerRequestDecoded {
  const json = parseJson(body);
  if (!json.ok) return { ok: false, problem: `the body is not JSON: ${json.problem}` };
  if (!isObject(json.value)) return { ok: false, problem: "the body is not a JSON object" };
  // the version first: a newer sender's new fields are its version's, not unknown ones
  if (!("v" in json.value))
    return { ok: false, problem: `peer wire version is missing (this node speaks ${PEER_WIRE_VERSION})` };
  if (json.value.v !== PEER_WIRE_VERSION)
    return {
      ok: false,
      problem: `peer wire version ${show(json.value.v)} is not supported (this node speaks ${PEER_WIRE_VERSION})`,
    };
  const kind = json.value.kind;
  const deadline = (remainingMs: number | undefined) =>
    remainingMs === undefined ? {} : { deadline: now + remainingMs };
  if (kind === "embed") {
    const parsed = embedSchema.safeParse(json.value);
    if (!parsed.success) return { ok: false, problem: problemsOf(parsed.error, json.value) };
    const { v: _version, kind: _kind, remainingMs, ...fields } = parsed.data;
    return { ok: true, kind, batch: { ...fields, ...deadline(remainingMs), signal } };
  }
  if (kind !== undefined && kind !== "execute" && kind !== "count-tokens")
    return {
      ok: false,
      problem: `kind: ${show(kind)} is not a request kind (peer wire version ${PEER_WIRE_VERSION} knows ${REQUEST_KINDS})`,
    };
  const parsed = (kind === "count-tokens" ? countTokensSchema : requestSchema).safeParse(json.value);
  if (!parsed.success) return { ok: false, problem: problemsOf(parsed.error, json.value) };
  const { v: _version, kind: _kind, remainingMs, ...fields } = parsed.data;
  const batch: ExecuteBatch = { ...fields, ...deadline(remainingMs), signal };
  return { ok: true, kind: kind ?? "execute", batch };
}

// ---- the response frames -----------------------------------------------------------------------

const toolCallDeltaWire = z.strictObject({
  i: z.number(),
  id: z.string().optional(),
  ty: z.literal("function").optional(),
  fn: z.strictObject({ n: z.string().optional(), a: z.string().optional() }).optional(),
  sg: z.string().optional(),
});

const usageSchema = z.strictObject({
  inputTokens: z.number(),
  outputTokens: z.number(),
  reasoningTokens: z.number().optional(),
  cachedInputTokens: z.number().optional(),
  cacheWriteInputTokens: z.number().optional(),
  estimated: z.boolean().optional(),
}) satisfies z.ZodType<TokenUsage>;

const chunkWire = z.strictObject({
  t: z.string(),
  tc: z.array(toolCallDeltaWire).optional(),
  r: z.string().optional(),
  rs: z.string().optional(),
  rb: z.array(reasoningBlockSchema).optional(),
  fr: z.enum(["stop", "length", "tool_calls", "content_filter"]).optional(),
  u: usageSchema.optional(),
});

type ChunkWire = z.output<typeof chunkWire>;
type ToolCallDeltaWire = z.output<typeof toolCallDeltaWire>;

/** The response is NDJSON: one frame per line, each ending in "\n". */
export function encodeChunkFrame(chunk: TokenChunk): string {
  const wire: AllKeys<ChunkWire> = {
    t: chunk.text,
    tc: chunk.toolCalls?.map(encodeToolCallDelta),
    r: chunk.refusal,
    rs: chunk.reasoning,
    rb: chunk.reasoningBlocks?.map(encodeReasoningBlock),
    fr: chunk.finishReason,
    u: chunk.usage === undefined ? undefined : encodeUsage(chunk.usage),
  };
  return `${JSON.stringify({ c: wire })}\n`;
}

function encodeToolCallDelta(delta: ToolCallDelta): AllKeys<ToolCallDeltaWire> {
  return {
    i: delta.index,
    id: delta.id,
    ty: delta.type,
    fn: delta.function === undefined ? undefined : { n: delta.function.name, a: delta.function.arguments },
    sg: delta.signature,
  };
}

function encodeUsage(usage: TokenUsage): AllKeys<TokenUsage> {
  return {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    reasoningTokens: usage.reasoningTokens,
    cachedInputTokens: usage.cachedInputTokens,
    cacheWriteInputTokens: usage.cacheWriteInputTokens,
    estimated: usage.estimated,
  };
}

/** The stream ended normally: the request's last frame. */
export function encodeEndFrame(): string {
  return `${JSON.stringify({ end: 1 })}\n`;
}

/** The request failed after it started streaming: its last frame. */
export function encodeErrorFrame(error: InferenceError): string {
  return `${JSON.stringify({ e: encodeError(error) })}\n`;
}

const embeddingUsageWire = z.strictObject({
  inputTokens: z.number(),
  estimated: z.boolean().optional(),
}) satisfies z.ZodType<EmbeddingUsage>;

const embeddingsWire = z.strictObject({ v: z.array(z.string()), u: embeddingUsageWire });

const tokenCountWire = z.strictObject({
  inputTokens: z.number(),
  estimated: z.boolean(),
}) satisfies z.ZodType<TokenCount>;

/** An embedding request's one frame: the vectors (base64 of little-endian float32) and the usage. */
export function encodeEmbeddingsFrame(embeddings: Embeddings): string {
  const usage: AllKeys<EmbeddingUsage> = {
    inputTokens: embeddings.usage.inputTokens,
    estimated: embeddings.usage.estimated,
  };
  return `${JSON.stringify({ em: { v: embeddings.vectors.map(float32ToBase64), u: usage } })}\n`;
}

/** A token count's one frame. */
export function encodeTokenCountFrame(count: TokenCount): string {
  const wire: AllKeys<TokenCount> = { inputTokens: count.inputTokens, estimated: count.estimated };
  return `${JSON.stringify({ tk: wire })}\n`;
}

/** One decoded line of the response stream. */
export type PeerFrame =
  | { readonly type: "chunk"; readonly chunk: TokenChunk }
  | { readonly type: "end" }
  | { readonly type: "error"; readonly error: InferenceError }
  | { readonly type: "embeddings"; readonly embeddings: Embeddings }
  | { readonly type: "token-count"; readonly count: TokenCount };

const FRAME_KEYS = '"c", "end", "e", "em" or "tk"';

/** One line (without its "\n"). Throws an Error naming the problem for anything malformed. */
export function decodeFrame(line: string): PeerFrame {
  const json = parseJson(line);
  if (!json.ok) throw new Error(`peer frame is not JSON: ${json.problem}`);
  if (!isObject(json.value)) throw new Error("peer frame is not a JSON object");
  const keys = Object.keys(json.value);
  const type = keys[0];
  if (type === undefined || keys.length > 1)
    throw new Error(
      `peer frame must hold exactly one of ${FRAME_KEYS}, it holds ${keys.length === 0 ? "none" : keys.map(show).join(", ")}`,
    );
  const value = json.value[type];
  switch (type) {
    case "c": {
      // the frame of nearly every token, {"c":{"t":"…"}}: no schema pass for it
      if (isTextOnly(value)) return { type: "chunk", chunk: { text: value.t } };
      const parsed = chunkWire.safeParse(value);
      if (!parsed.success) throw new Error(`peer chunk frame: ${problemsOf(parsed.error, value)}`);
      return { type: "chunk", chunk: decodeChunk(parsed.data) };
    }
    case "end":
      if (value !== 1) throw new Error(`peer end frame: expected {"end":1}, got ${show(value)}`);
      return { type: "end" };
    case "e": {
      const decoded = decodeError(value);
      if (!decoded.ok) throw new Error(`peer error frame: ${decoded.problem}`);
      return { type: "error", error: decoded.error };
    }
    case "em": {
      const parsed = embeddingsWire.safeParse(value);
      if (!parsed.success) throw new Error(`peer embeddings frame: ${problemsOf(parsed.error, value)}`);
      const vectors = parsed.data.v.map((text, index) => {
        const vector = base64ToFloat32(text);
        if (vector === undefined) throw new Error(`peer embeddings frame: v[${index}] is not base64 float32`);
        return vector;
      });
      return {
        type: "embeddings",
        embeddings: {
          vectors,
          usage: withoutUndefined<EmbeddingUsage>({
            inputTokens: parsed.data.u.inputTokens,
            estimated: parsed.data.u.estimated,
          }),
        },
      };
    }
    case "tk": {
      const parsed = tokenCountWire.safeParse(value);
      if (!parsed.success) throw new Error(`peer token-count frame: ${problemsOf(parsed.error, value)}`);
      return { type: "token-count", count: parsed.data };
    }
    default:
      throw new Error(
        `peer frame of unknown type ${show(type)} (peer wire version ${PEER_WIRE_VERSION} knows ${FRAME_KEYS})`,
      );
  }
}

function isTextOnly(value: unknown): value is { t: string } {
  if (!isObject(value) || typeof value.t !== "string") return false;
  for (const key in value) if (key !== "t") return false;
  return true;
}

function decodeChunk(wire: ChunkWire): TokenChunk {
  return withoutUndefined<TokenChunk>({
    text: wire.t,
    toolCalls: wire.tc?.map((delta) =>
      withoutUndefined<ToolCallDelta>({
        index: delta.i,
        id: delta.id,
        type: delta.ty,
        function:
          delta.fn === undefined
            ? undefined
            : withoutUndefined<NonNullable<ToolCallDelta["function"]>>({
                name: delta.fn.n,
                arguments: delta.fn.a,
              }),
        signature: delta.sg,
      }),
    ),
    refusal: wire.r,
    reasoning: wire.rs,
    reasoningBlocks: wire.rb,
    finishReason: wire.fr,
    usage: wire.u,
  });
}

// ---- errors ------------------------------------------------------------------------------------

/** An error on the wire: its message and its details, field for field (the cause stays behind). */
interface ErrorWire {
  readonly message: string;
  readonly details: InferenceErrorDetails;
}

type DetailsOf<K extends InferenceErrorKind> = Extract<InferenceErrorDetails, { readonly kind: K }>;

function details<K extends InferenceErrorKind, Shape extends z.core.$ZodLooseShape>(kind: K, shape: Shape) {
  return z.strictObject({ kind: z.literal(kind), ...shape });
}

const retryAfter = { retryAfterMs: z.number().optional() };

/** One schema per kind: a new kind stops this compiling until it has one. */
const detailsSchemas = {
  rate_limited: details("rate_limited", retryAfter),
  circuit_open: details("circuit_open", { openedAt: z.number(), retryAt: z.number() }),
  content_filtered: details("content_filtered", {}),
  context_length_exceeded: details("context_length_exceeded", {
    limit: z.number().optional(),
    requested: z.number().optional(),
  }),
  bad_request: details("bad_request", { field: z.string().optional() }),
  unauthorized: details("unauthorized", {}),
  forbidden: details("forbidden", {}),
  backpressure: details("backpressure", retryAfter),
  budget_exceeded: details("budget_exceeded", retryAfter),
  network_error: details("network_error", {}),
  server_error: details("server_error", { status: z.number() }),
  timeout: details("timeout", { phase: z.enum(["first_byte", "read", "request", "queue"]).optional() }),
  context_poisoned: details("context_poisoned", {}),
  not_found: details("not_found", {}),
  unavailable: details("unavailable", { state: z.string().optional() }),
  upstream_unauthorized: details("upstream_unauthorized", {}),
  internal: details("internal", {}),
} satisfies { readonly [K in InferenceErrorKind]: z.ZodType<DetailsOf<K>> };

const errorEnvelope = z.strictObject({
  message: z.string(),
  // checked against its kind's schema below
  details: z.looseObject({ kind: z.string() }),
});

function encodeError(error: InferenceError): ErrorWire {
  return { message: error.message, details: error.details };
}

type ErrorDecoded =
  | { readonly ok: true; readonly error: InferenceError }
  | { readonly ok: false; readonly problem: string };

function decodeError(value: unknown): ErrorDecoded {
  const envelope = errorEnvelope.safeParse(value);
  if (!envelope.success) return { ok: false, problem: problemsOf(envelope.error, value) };
  const { message, details: raw } = envelope.data;
  if (!isKnownKind(raw.kind))
    return {
      ok: true,
      error: errors.internal(`a peer answered an error of unknown kind ${show(raw.kind)}: ${message}`),
    };
  const schema: z.ZodType<InferenceErrorDetails> = detailsSchemas[raw.kind];
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { ok: false, problem: problemsOf(parsed.error, raw, "details") };
  return { ok: true, error: new InferenceError(parsed.data, message) };
}

function isKnownKind(kind: string): kind is InferenceErrorKind {
  return Object.hasOwn(detailsSchemas, kind);
}

/** An error body for a refused peer call (bad node key, bad body, no local replica): JSON of the error. */
export function encodeErrorBody(error: InferenceError): string {
  return JSON.stringify({ error: encodeError(error) });
}

/** The error a refused peer call answered with; undefined when the body is not one (a proxy's page). */
export function decodeErrorBody(body: string): InferenceError | undefined {
  const json = parseJson(body);
  if (!json.ok || !isObject(json.value) || Object.keys(json.value).length !== 1) return undefined;
  const decoded = decodeError(json.value.error);
  return decoded.ok ? decoded.error : undefined;
}

// ---- helpers -----------------------------------------------------------------------------------

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; problem: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, problem: (error as Error).message };
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A value named in a problem: JSON, cut short. */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** "messages[0].role: is required; sampling.minP: unknown key" (the first few). */
function problemsOf(error: z.ZodError, input: unknown, base = ""): string {
  const problems = error.issues.flatMap(unfoldUnion).flatMap((issue) =>
    // zodProblems tells a missing key from a wrong type, but not for an enum or a literal
    issue.code === "invalid_value" && valueAt(input, issue.path) === undefined
      ? [{ path: joinPath(base, issue.path), message: "is required" }]
      : zodProblems(base, new z.ZodError([issue]), input),
  );
  const shown = problems
    .slice(0, MAX_PROBLEMS)
    .map((problem) => (problem.path === "" ? problem.message : `${problem.path}: ${problem.message}`))
    .join("; ");
  return problems.length > MAX_PROBLEMS ? `${shown} (and ${problems.length - MAX_PROBLEMS} more)` : shown;
}

/**
 * A union where only one branch took the value's type (content given as parts) fails with that
 * branch's own issues, so the problem names the part at fault rather than "Invalid input".
 */
function unfoldUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== "invalid_union") return [issue];
  const typed = issue.errors.filter(
    (branch) =>
      branch.length > 0 &&
      !branch.some(
        (inner) =>
          inner.path.length === 0 && (inner.code === "invalid_type" || inner.code === "invalid_value"),
      ),
  );
  const [branch] = typed;
  if (branch === undefined || typed.length > 1) return [issue];
  return branch.flatMap((inner) => unfoldUnion({ ...inner, path: [...issue.path, ...inner.path] }));
}

/** The object without its undefined-valued keys: an optional field that is absent stays absent. */
function withoutUndefined<T extends object>(value: AllKeys<T>): T {
  const present: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) present[key] = item;
  return present as T;
}
