// The peer contract test (docs/cluster.md): one hop between nodes loses nothing. Every field of a
// request (a generation, an embedding request, a token count), a chunk, an answer frame and an
// error survives encode then decode; what is malformed or of another version is refused by name. The fixtures are typed with Required<...> so that a field added to
// the core types breaks this file until the wire carries it.

import { describe, expect, it } from "vitest";
import type { ContentPart, ExecuteBatch, Message, Role, SamplingParams } from "../core/batch.js";
import type { EmbedBatch, Embeddings, TokenCount } from "../core/embedding.js";
import {
  InferenceError,
  type InferenceErrorDetails,
  type InferenceErrorKind,
  inferenceErrorKinds,
} from "../core/inference-error.js";
import type { RequestFeatures } from "../core/request-features.js";
import type { TokenChunk, TokenUsage, ToolCallDelta } from "../core/token-chunk.js";
import {
  decodeErrorBody,
  decodeFrame,
  decodePeerRequest,
  encodeChunkFrame,
  encodeEmbeddingsFrame,
  encodeEndFrame,
  encodeErrorBody,
  encodeErrorFrame,
  encodePeerEmbedRequest,
  encodePeerRequest,
  encodeTokenCountFrame,
  PEER_WIRE_VERSION,
  type PeerFrame,
} from "./peer-wire.js";

// ---- fixtures ----------------------------------------------------------------------------------

/** The ExecuteBatch fields this wire knows of: `signal` stays behind, `deadline` travels as time left. */
const executeBatchFields = [
  "requestId",
  "model",
  "messages",
  "sampling",
  "stream",
  "priority",
  "estimatedTokens",
  "features",
  "deadline",
  "signal",
] as const;

const sampling: Required<SamplingParams> = {
  temperature: 0.7,
  topP: 0.95,
  topK: 40,
  maxTokens: 512,
  stop: ["\n\nUser:", "</s>"],
  presencePenalty: 0.25,
  frequencyPenalty: -0.5,
  seed: 1234,
};

const features: Required<RequestFeatures> = {
  tools: [
    {
      name: "get_weather",
      description: "Weather for a city",
      parameters: {
        type: "object",
        properties: { city: { type: "string" }, days: { type: "integer", minimum: 1 } },
        required: ["city"],
      },
      strict: true,
    },
  ],
  toolChoice: { name: "get_weather" },
  parallelToolCalls: false,
  reasoningEffort: "high",
  responseFormat: {
    type: "json_schema",
    name: "w",
    description: "the weather",
    strict: true,
    schema: { type: "object" },
  },
  user: "end-user-42",
};

const imageWithDetail: Required<Extract<ContentPart, { type: "image" }>> = {
  type: "image",
  source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" },
  detail: "high",
};

/** A message with every Message field set (odd as a conversation turn, which the wire does not judge). */
const everyMessageField: Required<Message> = {
  role: "assistant",
  content: [{ type: "text", text: "looking it up" }],
  name: "planner",
  toolCallId: "call_0",
  toolCalls: [
    {
      id: "call_1",
      type: "function",
      function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
      signature: "c2lnbmF0dXJl",
    },
  ],
  reasoningBlocks: [
    { type: "thinking", thinking: "Oslo is in Norway.", signature: "EqQBCgIYAhIM" },
    { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix" },
  ],
  toolError: true,
};

const messages: readonly Message[] = [
  { role: "system", content: "You are terse.\nAnswer in one line." },
  { role: "developer", content: "Prefer metric units.", name: "ops" },
  {
    role: "user",
    content: [
      { type: "text", text: "What is in these pictures?" },
      imageWithDetail,
      { type: "image", source: { kind: "url", url: "https://example.test/cat.jpg" } },
    ],
    name: "alice",
  },
  {
    role: "assistant",
    content: null,
    toolCalls: [
      { id: "call_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Bergen"}' } },
      { id: "call_3", type: "function", function: { name: "get_weather", arguments: "{}" } },
    ],
  },
  { role: "tool", content: '{"temp_c":7}', toolCallId: "call_2" },
  everyMessageField,
];

/** Every role, so a new one breaks this until the fixture has a message of it. */
const everyRole: { readonly [R in Role]: true } = {
  system: true,
  developer: true,
  user: true,
  assistant: true,
  tool: true,
};

const senderSignal = new AbortController().signal;

/** Every optional field of ExecuteBatch set: adding one to the type breaks this until it is set here. */
const fullBatch: Required<ExecuteBatch> = {
  requestId: "node-a-7f3e",
  model: "models/tiny-llama.gguf",
  messages,
  sampling,
  stream: true,
  priority: -2,
  estimatedTokens: 1_536,
  features,
  deadline: 6_000,
  signal: senderSignal,
};

const minimalBatch: ExecuteBatch = {
  requestId: "r-1",
  model: "gpt-4o-mini",
  messages: [{ role: "user", content: "hi" }],
  sampling: {},
  stream: false,
  priority: 0,
  estimatedTokens: 1_025,
  features: {},
  signal: senderSignal,
};

function roundTrip(
  batch: ExecuteBatch,
  sentAt: number,
  receivedAt: number,
  signal: AbortSignal,
): ExecuteBatch {
  const decoded = decodePeerRequest(encodePeerRequest(batch, sentAt), receivedAt, signal);
  if (!decoded.ok) throw new Error(`refused: ${decoded.problem}`);
  if (decoded.kind !== "execute") throw new Error(`decoded as ${decoded.kind}`);
  return decoded.batch;
}

/** A request body as JSON, to tamper with. */
function bodyOf(batch: ExecuteBatch, now = 0): Record<string, unknown> {
  return JSON.parse(encodePeerRequest(batch, now)) as Record<string, unknown>;
}

function problemOf(body: unknown): string {
  const decoded = decodePeerRequest(
    typeof body === "string" ? body : JSON.stringify(body),
    0,
    new AbortController().signal,
  );
  if (decoded.ok) throw new Error("expected the body to be refused");
  return decoded.problem;
}

/** The line of one frame: exactly one, ending in "\n". */
function lineOf(frame: string): string {
  expect(frame.endsWith("\n")).toBe(true);
  expect(frame.indexOf("\n")).toBe(frame.length - 1);
  return frame.slice(0, -1);
}

// ---- the request -------------------------------------------------------------------------------

describe("peer wire: the request", () => {
  it("the fully populated fixture sets every ExecuteBatch field the wire knows of", () => {
    expect(Object.keys(fullBatch).sort()).toEqual([...executeBatchFields].sort());
  });

  it("the fixture's messages cover every role and every form of content", () => {
    expect([...new Set(messages.map((message) => message.role))].sort()).toEqual(
      Object.keys(everyRole).sort(),
    );
    const parts = messages.flatMap((message) => (Array.isArray(message.content) ? message.content : []));
    expect(messages.some((message) => typeof message.content === "string")).toBe(true);
    expect(messages.some((message) => message.content === null)).toBe(true);
    expect(parts.map((part) => (part.type === "image" ? `image:${part.detail ?? "-"}` : part.type))).toEqual(
      expect.arrayContaining(["text", "image:high", "image:-"]),
    );
  });

  it("a fully populated batch round-trips; the deadline travels as the time left", () => {
    const receiverSignal = new AbortController().signal;
    const decoded = roundTrip(fullBatch, 1_000, 50_000, receiverSignal);
    expect(decoded.signal).toBe(receiverSignal);
    const { signal: _signal, ...received } = decoded;
    const { signal: _sent, ...sent } = fullBatch;
    expect(received).toStrictEqual({ ...sent, deadline: 55_000 });
  });

  it("the body is versioned and carries neither the signal nor the absolute deadline", () => {
    const body = bodyOf(fullBatch, 1_000);
    expect(body.v).toBe(PEER_WIRE_VERSION);
    expect(body.remainingMs).toBe(5_000);
    expect(body).not.toHaveProperty("signal");
    expect(body).not.toHaveProperty("deadline");
  });

  it("a minimal batch round-trips without gaining keys", () => {
    const receiverSignal = new AbortController().signal;
    const decoded = roundTrip(minimalBatch, 1_000, 50_000, receiverSignal);
    expect(decoded).toStrictEqual({ ...minimalBatch, signal: receiverSignal });
    expect(Object.keys(decoded).sort()).toEqual(Object.keys(minimalBatch).sort());
    expect(Object.keys(decoded.sampling)).toEqual([]);
    expect(Object.keys(decoded.features)).toEqual([]);
    expect(Object.keys(decoded.messages[0]!).sort()).toEqual(["content", "role"]);
    expect("deadline" in decoded).toBe(false);
    expect(bodyOf(minimalBatch)).not.toHaveProperty("remainingMs");
  });

  it("a deadline already passed travels as 0 ms left, never negative", () => {
    const body = bodyOf({ ...minimalBatch, deadline: 500 }, 1_000);
    expect(body.remainingMs).toBe(0);
    expect(roundTrip({ ...minimalBatch, deadline: 500 }, 1_000, 50_000, senderSignal).deadline).toBe(50_000);
  });

  it("a tool's JSON Schema travels verbatim, null and nesting included; each tool choice and format too", () => {
    const odd: RequestFeatures = {
      tools: [{ name: "f", parameters: { a: { b: [] }, n: null, list: [1, "x", [true]] } }],
      toolChoice: "required",
      responseFormat: { type: "json_object" },
    };
    expect(roundTrip({ ...minimalBatch, features: odd }, 0, 0, senderSignal).features).toStrictEqual(odd);
    for (const toolChoice of ["auto", "none", "required", { name: "f" }] as const)
      expect(roundTrip({ ...minimalBatch, features: { toolChoice } }, 0, 0, senderSignal).features).toEqual({
        toolChoice,
      });
    expect(
      roundTrip({ ...minimalBatch, features: { responseFormat: { type: "text" } } }, 0, 0, senderSignal)
        .features,
    ).toEqual({ responseFormat: { type: "text" } });
  });
});

describe("peer wire: refused requests", () => {
  it("another version, named with the one this node speaks (before any unknown field)", () => {
    expect(problemOf({ ...bodyOf(minimalBatch), v: 2 })).toBe(
      "peer wire version 2 is not supported (this node speaks 4)",
    );
    expect(problemOf({ ...bodyOf(minimalBatch), v: 5, newField: true })).toBe(
      "peer wire version 5 is not supported (this node speaks 4)",
    );
    expect(problemOf({ ...bodyOf(minimalBatch), v: 3 })).toBe(
      "peer wire version 3 is not supported (this node speaks 4)",
    );
    const { v: _v, ...unversioned } = bodyOf(minimalBatch);
    expect(problemOf(unversioned)).toBe("peer wire version is missing (this node speaks 4)");
  });

  it("an unknown field, at the top or nested", () => {
    expect(problemOf({ ...bodyOf(minimalBatch), logprobs: true })).toBe("logprobs: unknown key");
    expect(problemOf({ ...bodyOf(minimalBatch), sampling: { minP: 0.1 } })).toBe(
      "sampling.minP: unknown key",
    );
    const body = bodyOf(minimalBatch);
    body.messages = [{ role: "user", content: "hi", audio: "x" }];
    expect(problemOf(body)).toBe("messages[0].audio: unknown key");
  });

  it("a missing required field", () => {
    const { model: _model, ...body } = bodyOf(minimalBatch);
    expect(problemOf(body)).toBe("model: is required");
    const noRole = bodyOf(minimalBatch);
    noRole.messages = [{ content: "hi" }];
    expect(problemOf(noRole)).toBe("messages[0].role: is required");
    const noPartType = bodyOf(minimalBatch);
    noPartType.messages = [{ role: "user", content: [{ text: "hi" }] }];
    expect(problemOf(noPartType)).toBe("messages[0].content[0].type: is required");
  });

  it("a field of the wrong type, a negative time left, a part of unknown type", () => {
    expect(problemOf({ ...bodyOf(minimalBatch), stream: "yes" })).toBe(
      "stream: expected boolean, received string",
    );
    expect(problemOf({ ...bodyOf(minimalBatch), remainingMs: -1 })).toMatch(/^remainingMs: /);
    const body = bodyOf(minimalBatch);
    body.messages = [{ role: "user", content: [{ type: "audio", data: "x" }] }];
    expect(problemOf(body)).toBe(
      "messages[0].content[0].type: Invalid discriminator value. Expected 'text' | 'image'",
    );
    body.messages = [{ role: "user", content: 7 }];
    expect(problemOf(body)).toBe("messages[0].content: expected string or array or null, received number");
  });

  it("a body that is not JSON, or not an object", () => {
    expect(problemOf("{not json")).toMatch(/^the body is not JSON: /);
    expect(problemOf("[1,2]")).toBe("the body is not a JSON object");
    expect(problemOf("null")).toBe("the body is not a JSON object");
  });
});

// ---- chunks ------------------------------------------------------------------------------------

const fullUsage: Required<TokenUsage> = {
  inputTokens: 120,
  outputTokens: 48,
  reasoningTokens: 16,
  cachedInputTokens: 64,
  cacheWriteInputTokens: 32,
  estimated: false,
};

const fullDelta: Required<ToolCallDelta> & { function: Required<NonNullable<ToolCallDelta["function"]>> } = {
  index: 0,
  id: "call_9",
  type: "function",
  function: { name: "get_weather", arguments: '{"ci' },
  signature: "dGhvdWdodA==",
};

/** Every TokenChunk field set at once (no runner sends this, the wire must still carry it). */
const fullChunk: Required<TokenChunk> = {
  text: "line one\nline two",
  toolCalls: [fullDelta],
  refusal: "I can't",
  reasoning: "first, the city",
  reasoningBlocks: [
    { type: "thinking", thinking: "first, the city", signature: "EqQBCgIYAhIM" },
    { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix" },
  ],
  finishReason: "stop",
  usage: fullUsage,
};

const chunks: ReadonlyArray<readonly [string, TokenChunk]> = [
  ["text only", { text: "Hel" }],
  ["empty text", { text: "" }],
  [
    "tool-call deltas",
    {
      text: "",
      toolCalls: [
        fullDelta,
        { index: 0, function: { arguments: 'ty":"Oslo"}' } },
        { index: 1, id: "call_10" },
        { index: 2, function: {} },
      ],
    },
  ],
  ["refusal", { text: "", refusal: "I can't help with that." }],
  ["final with finish reason and full usage", { text: "", finishReason: "length", usage: fullUsage }],
  [
    "final with estimated usage",
    { text: "", finishReason: "tool_calls", usage: { inputTokens: 10, outputTokens: 3, estimated: true } },
  ],
  ["every field", fullChunk],
];

describe("peer wire: chunk frames", () => {
  it.each(chunks)("%s round-trips", (_name, chunk) => {
    expect(decodeFrame(lineOf(encodeChunkFrame(chunk)))).toStrictEqual({ type: "chunk", chunk });
  });

  it("a chunk frame is compact", () => {
    expect(encodeChunkFrame({ text: "Hel" })).toBe('{"c":{"t":"Hel"}}\n');
  });

  it("the end frame", () => {
    expect(encodeEndFrame()).toBe('{"end":1}\n');
    expect(decodeFrame(lineOf(encodeEndFrame()))).toStrictEqual({ type: "end" });
  });
});

// ---- errors ------------------------------------------------------------------------------------

/** One error per kind, every field of its details set: a new kind or field breaks this. */
const fullDetails: {
  readonly [K in InferenceErrorKind]: Required<Extract<InferenceErrorDetails, { kind: K }>>;
} = {
  rate_limited: { kind: "rate_limited", retryAfterMs: 1_500 },
  circuit_open: { kind: "circuit_open", openedAt: 10_000, retryAt: 40_000 },
  content_filtered: { kind: "content_filtered" },
  context_length_exceeded: { kind: "context_length_exceeded", limit: 4_096, requested: 5_000 },
  bad_request: { kind: "bad_request", field: "messages[0].content" },
  unauthorized: { kind: "unauthorized" },
  forbidden: { kind: "forbidden" },
  backpressure: { kind: "backpressure", retryAfterMs: 250 },
  budget_exceeded: { kind: "budget_exceeded", retryAfterMs: 3_600_000 },
  network_error: { kind: "network_error" },
  server_error: { kind: "server_error", status: 502 },
  timeout: { kind: "timeout", phase: "first_byte" },
  context_poisoned: { kind: "context_poisoned" },
  not_found: { kind: "not_found" },
  unavailable: { kind: "unavailable", state: "loading" },
  upstream_unauthorized: { kind: "upstream_unauthorized" },
  internal: { kind: "internal" },
};

function expectSameError(decoded: InferenceError | undefined, original: InferenceError): void {
  expect(decoded).toBeInstanceOf(InferenceError);
  expect(decoded?.message).toBe(original.message);
  expect(decoded?.details).toStrictEqual(original.details);
}

function errorOf(frame: PeerFrame): InferenceError {
  if (frame.type !== "error") throw new Error(`expected an error frame, got ${frame.type}`);
  return frame.error;
}

describe("peer wire: errors", () => {
  it("the fixture has one error per kind", () => {
    expect(Object.keys(fullDetails).sort()).toEqual([...inferenceErrorKinds].sort());
  });

  it.each(inferenceErrorKinds)("%s round-trips in an error frame and an error body", (kind) => {
    const original = new InferenceError(fullDetails[kind], `${kind}: "quoted"\nsecond line`);
    expectSameError(errorOf(decodeFrame(lineOf(encodeErrorFrame(original)))), original);
    expectSameError(decodeErrorBody(encodeErrorBody(original)), original);
  });

  it("optional details left out stay left out", () => {
    const original = new InferenceError({ kind: "timeout" }, "too slow");
    const decoded = errorOf(decodeFrame(lineOf(encodeErrorFrame(original))));
    expect(decoded.details).toStrictEqual({ kind: "timeout" });
  });

  it("an unknown kind decodes as internal, naming the kind and keeping the message", () => {
    const line = JSON.stringify({ e: { message: "steeping", details: { kind: "teapot", cups: 2 } } });
    const error = errorOf(decodeFrame(line));
    expect(error).toBeInstanceOf(InferenceError);
    expect(error.kind).toBe("internal");
    expect(error.message).toBe('a peer answered an error of unknown kind "teapot": steeping');
    const body = JSON.stringify({ error: { message: "steeping", details: { kind: "teapot" } } });
    expect(decodeErrorBody(body)?.kind).toBe("internal");
  });

  it("an error body that is not one decodes as undefined", () => {
    expect(decodeErrorBody("<html>502 Bad Gateway</html>")).toBeUndefined();
    expect(decodeErrorBody('{"error":{"message":"x"}}')).toBeUndefined();
    expect(decodeErrorBody('{"error":{"message":"x","details":{"kind":"server_error"}}}')).toBeUndefined();
    expect(decodeErrorBody("")).toBeUndefined();
  });
});

// ---- malformed frames --------------------------------------------------------------------------

describe("peer wire: malformed frames", () => {
  it("a line that is not JSON", () => {
    expect(() => decodeFrame('{"c":{"t":"He')).toThrow(/^peer frame is not JSON: /);
    expect(() => decodeFrame("[]")).toThrow("peer frame is not a JSON object");
  });

  it("a frame of unknown type", () => {
    expect(() => decodeFrame('{"x":1}')).toThrow(
      'peer frame of unknown type "x" (peer wire version 4 knows "c", "end", "e", "em" or "tk")',
    );
    expect(() => decodeFrame('{"c":{"t":""},"end":1}')).toThrow(
      'peer frame must hold exactly one of "c", "end", "e", "em" or "tk", it holds "c", "end"',
    );
    expect(() => decodeFrame("{}")).toThrow(
      'peer frame must hold exactly one of "c", "end", "e", "em" or "tk", it holds none',
    );
  });

  it("a chunk with a missing, mistyped or unknown field", () => {
    expect(() => decodeFrame('{"c":{}}')).toThrow("peer chunk frame: t: is required");
    expect(() => decodeFrame('{"c":{"t":1}}')).toThrow(
      "peer chunk frame: t: expected string, received number",
    );
    expect(() => decodeFrame('{"c":{"t":"","logprobs":[]}}')).toThrow(
      "peer chunk frame: logprobs: unknown key",
    );
    expect(() => decodeFrame('{"c":{"t":"","u":{"inputTokens":1}}}')).toThrow(
      "peer chunk frame: u.outputTokens: is required",
    );
  });

  it("an end frame with another value", () => {
    expect(() => decodeFrame('{"end":true}')).toThrow('peer end frame: expected {"end":1}, got true');
  });

  it("an error frame whose details do not fit their kind", () => {
    expect(() => decodeFrame('{"e":{"message":"x","details":{"kind":"circuit_open","openedAt":1}}}')).toThrow(
      "peer error frame: details.retryAt: is required",
    );
    expect(() => decodeFrame('{"e":{"message":"x","details":{"kind":"not_found","path":"/"}}}')).toThrow(
      "peer error frame: details.path: unknown key",
    );
    expect(() => decodeFrame('{"e":{"details":{"kind":"internal"}}}')).toThrow(
      "peer error frame: message: is required",
    );
  });
});

// ---- embedding requests and token counts (version 4) -------------------------------------------

/** The EmbedBatch fields this wire knows of: `signal` stays behind, `deadline` travels as time left. */
const embedBatchFields = [
  "requestId",
  "model",
  "input",
  "dimensions",
  "user",
  "priority",
  "estimatedTokens",
  "deadline",
  "signal",
] as const;

/** Every optional field of EmbedBatch set: adding one to the type breaks this until it is set here. */
const fullEmbedBatch: Required<EmbedBatch> = {
  requestId: "node-a-e1",
  model: "embedder",
  input: ["first text", "", "third\ntext with ünïcode"],
  dimensions: 256,
  user: "end-user-42",
  priority: 3,
  estimatedTokens: 9,
  deadline: 6_000,
  signal: senderSignal,
};

const minimalEmbedBatch: EmbedBatch = {
  requestId: "e-1",
  model: "embedder",
  input: [[1, 2, 3], [40_000]],
  priority: 0,
  estimatedTokens: 4,
  signal: senderSignal,
};

function decodeEmbed(body: string, receivedAt: number, signal: AbortSignal): EmbedBatch {
  const decoded = decodePeerRequest(body, receivedAt, signal);
  if (!decoded.ok) throw new Error(`refused: ${decoded.problem}`);
  if (decoded.kind !== "embed") throw new Error(`decoded as ${decoded.kind}`);
  return decoded.batch;
}

describe("peer wire: embedding requests and token counts", () => {
  it("the fully populated embedding fixture sets every EmbedBatch field the wire knows of", () => {
    expect(Object.keys(fullEmbedBatch).sort()).toEqual([...embedBatchFields].sort());
  });

  it("a fully populated embedding request round-trips; the deadline travels as the time left", () => {
    const receiverSignal = new AbortController().signal;
    const body = encodePeerEmbedRequest(fullEmbedBatch, 1_000);
    expect(JSON.parse(body)).toMatchObject({ v: PEER_WIRE_VERSION, kind: "embed", remainingMs: 5_000 });
    const decoded = decodeEmbed(body, 50_000, receiverSignal);
    expect(decoded.signal).toBe(receiverSignal);
    const { signal: _signal, ...received } = decoded;
    const { signal: _sent, ...sent } = fullEmbedBatch;
    expect(received).toStrictEqual({ ...sent, deadline: 55_000 });
  });

  it("a minimal embedding request with token arrays round-trips without gaining keys", () => {
    const receiverSignal = new AbortController().signal;
    const decoded = decodeEmbed(encodePeerEmbedRequest(minimalEmbedBatch, 0), 0, receiverSignal);
    expect(decoded).toStrictEqual({ ...minimalEmbedBatch, signal: receiverSignal });
  });

  it("a token count carries the whole generation batch under its kind", () => {
    const receiverSignal = new AbortController().signal;
    const body = encodePeerRequest(fullBatch, 1_000, "count-tokens");
    expect(JSON.parse(body)).toMatchObject({ kind: "count-tokens" });
    const decoded = decodePeerRequest(body, 50_000, receiverSignal);
    if (!decoded.ok || decoded.kind !== "count-tokens") throw new Error("expected a token count");
    const { signal: _signal, ...received } = decoded.batch;
    const { signal: _sent, ...sent } = fullBatch;
    expect(received).toStrictEqual({ ...sent, deadline: 55_000 });
  });

  it("a generation's body carries no kind, and an explicit execute kind is one too", () => {
    expect(bodyOf(minimalBatch)).not.toHaveProperty("kind");
    const decoded = decodePeerRequest(
      JSON.stringify({ ...bodyOf(minimalBatch), kind: "execute" }),
      0,
      senderSignal,
    );
    expect(decoded.ok && decoded.kind).toBe("execute");
  });

  it("refuses an unknown kind, and fields of one kind in another", () => {
    expect(problemOf({ ...bodyOf(minimalBatch), kind: "rerank" })).toBe(
      'kind: "rerank" is not a request kind (peer wire version 4 knows "execute", "embed" or "count-tokens")',
    );
    const embed = JSON.parse(encodePeerEmbedRequest(minimalEmbedBatch, 0)) as Record<string, unknown>;
    expect(problemOf({ ...embed, messages: [] })).toBe("messages: unknown key");
    const { input: _input, ...noInput } = embed;
    expect(problemOf(noInput)).toBe("input: is required");
    expect(problemOf({ ...embed, input: [1, 2] })).toMatch(/^input/);
    expect(problemOf({ ...embed, v: 3 })).toBe("peer wire version 3 is not supported (this node speaks 4)");
  });
});

const embeddings: Embeddings = {
  vectors: [new Float32Array([0.1, -2.5, 3e-8, 0]), new Float32Array([]), new Float32Array([1e30, -0])],
  usage: { inputTokens: 12, estimated: true },
};

describe("peer wire: answer frames", () => {
  it("an embeddings frame round-trips every float32 bit and the usage", () => {
    const frame = decodeFrame(lineOf(encodeEmbeddingsFrame(embeddings)));
    if (frame.type !== "embeddings") throw new Error(`expected embeddings, got ${frame.type}`);
    expect(frame.embeddings.usage).toStrictEqual(embeddings.usage);
    expect(frame.embeddings.vectors.map((vector) => [...new Uint8Array(vector.buffer)])).toEqual(
      embeddings.vectors.map((vector) => [...new Uint8Array(vector.buffer)]),
    );
  });

  it("an exact usage stays without an estimated flag", () => {
    const frame = decodeFrame(lineOf(encodeEmbeddingsFrame({ ...embeddings, usage: { inputTokens: 3 } })));
    expect(frame.type === "embeddings" && frame.embeddings.usage).toStrictEqual({ inputTokens: 3 });
  });

  it.each<TokenCount>([
    { inputTokens: 42, estimated: false },
    { inputTokens: 0, estimated: true },
  ])("a token-count frame round-trips %j", (count) => {
    expect(decodeFrame(lineOf(encodeTokenCountFrame(count)))).toStrictEqual({ type: "token-count", count });
  });

  it("refuses a malformed answer frame by name", () => {
    expect(() => decodeFrame('{"em":{"v":["AAAA"]}}')).toThrow("peer embeddings frame: u: is required");
    expect(() => decodeFrame('{"em":{"v":["AAA"],"u":{"inputTokens":1}}}')).toThrow(
      "peer embeddings frame: v[0] is not base64 float32",
    );
    expect(() => decodeFrame('{"tk":{"inputTokens":1}}')).toThrow(
      "peer token-count frame: estimated: is required",
    );
  });
});
