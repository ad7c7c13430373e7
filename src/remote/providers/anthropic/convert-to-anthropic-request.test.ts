// ExecuteBatch → Anthropic Messages body: system prompts, merged turns, tools and tool results,
// images, tool-call ids, signed thinking replayed, reasoning_effort and response_format by the
// model table, max_tokens defaults, and every 400 that names the field Anthropic cannot honour.

import { describe, expect, it } from "vitest";
import type { ExecuteBatch, Message, SamplingParams } from "../../../core/batch.js";
import type { InferenceError } from "../../../core/inference-error.js";
import type { RequestFeatures } from "../../../core/request-features.js";
import {
  anthropicModelTraits,
  anthropicRequestProblem,
  anthropicToolId,
  convertToAnthropicRequest,
  JSON_RESPONSE_TOOL,
  jsonResponseTool,
  thinkingBudgets,
} from "./convert-to-anthropic-request.js";

function batchOf(
  options: { messages?: readonly Message[]; sampling?: SamplingParams; features?: RequestFeatures } = {},
): ExecuteBatch {
  return {
    requestId: "r-1",
    model: "claude-sonnet-4-6",
    messages: options.messages ?? [{ role: "user", content: "hello" }],
    sampling: options.sampling ?? {},
    stream: true,
    priority: 0,
    estimatedTokens: 10,
    features: options.features ?? {},
    signal: new AbortController().signal,
  };
}

const convert = (batch: ExecuteBatch, model = "claude-sonnet-4-6", defaultMaxTokens?: number) =>
  convertToAnthropicRequest(batch, model, defaultMaxTokens === undefined ? {} : { defaultMaxTokens });

/** The 400 `batch` is refused with on `model`. */
function refusal(batch: ExecuteBatch, model = "claude-sonnet-4-6"): InferenceError {
  const error = anthropicRequestProblem(batch, model);
  if (error === undefined) throw new Error("expected a refusal");
  expect(() => convert(batch, model)).toThrow(error.message);
  return error;
}

describe("convertToAnthropicRequest: the body", () => {
  it("always streams, names the model, and sends max_tokens", () => {
    expect(convert(batchOf())).toEqual({
      model: "claude-sonnet-4-6",
      messages: [{ role: "user", content: [{ type: "text", text: "hello" }] }],
      max_tokens: 64_000,
      stream: true,
    });
  });

  it("lifts system and developer messages, wherever they are, into `system` text blocks", () => {
    const body = convert(
      batchOf({
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "hi" },
          { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
          { role: "user", content: "again" },
        ],
      }),
    );
    expect(body.system).toEqual([
      { type: "text", text: "Be brief." },
      { type: "text", text: "Answer in French." },
    ]);
    // the two user turns around the developer message become one
    expect(body.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "hi" },
          { type: "text", text: "again" },
        ],
      },
    ]);
  });

  it("merges consecutive same-role turns so roles alternate, and drops empty ones", () => {
    const body = convert(
      batchOf({
        messages: [
          { role: "user", content: "a" },
          { role: "user", content: "" },
          { role: "assistant", content: "b" },
          { role: "assistant", content: "c" },
          { role: "user", content: "d" },
        ],
      }),
    );
    expect(body.messages.map((m) => [m.role, m.content.length])).toEqual([
      ["user", 1],
      ["assistant", 2],
      ["user", 1],
    ]);
  });

  it("maps sampling: stop → stop_sequences, temperature, top_p, top_k; user → metadata.user_id", () => {
    const body = convert(
      batchOf({
        sampling: { stop: ["END", "\n\n"], temperature: 0.2, topP: 0.9, topK: 40, maxTokens: 100 },
        features: { user: "user-42" },
      }),
    );
    expect(body).toMatchObject({
      stop_sequences: ["END", "\n\n"],
      temperature: 0.2,
      top_p: 0.9,
      top_k: 40,
      max_tokens: 100,
      metadata: { user_id: "user-42" },
    });
    expect(convert(batchOf({ sampling: { stop: [] } }))).not.toHaveProperty("stop_sequences");
  });

  it("sends image parts as base64 or url sources", () => {
    const body = convert(
      batchOf({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" } },
              { type: "image", source: { kind: "url", url: "https://example.com/cat.jpg" }, detail: "high" },
            ],
          },
        ],
      }),
    );
    expect(body.messages[0]?.content).toEqual([
      { type: "text", text: "What is this?" },
      { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
      { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
    ]);
  });

  it("refuses images where Anthropic takes none, naming the message", () => {
    const image = { type: "image" as const, source: { kind: "url" as const, url: "https://x/y.png" } };
    expect(refusal(batchOf({ messages: [{ role: "system", content: [image] }] })).details).toEqual({
      kind: "bad_request",
      field: "messages[0].content",
    });
    expect(
      refusal(
        batchOf({
          messages: [
            { role: "user", content: "hi" },
            { role: "assistant", content: [image] },
          ],
        }),
      ).details,
    ).toEqual({ kind: "bad_request", field: "messages[1].content" });
  });
});

describe("convertToAnthropicRequest: max_tokens", () => {
  it("takes the client's, else default_max_tokens, else the model table's default", () => {
    expect(convert(batchOf({ sampling: { maxTokens: 77 } }), "claude-sonnet-4-6", 500).max_tokens).toBe(77);
    expect(convert(batchOf(), "claude-sonnet-4-6", 500).max_tokens).toBe(500);
    const defaults: Array<[string, number]> = [
      ["claude-opus-5", 64_000],
      ["claude-sonnet-4-6", 64_000],
      ["claude-sonnet-4-5-20250929", 64_000],
      ["claude-sonnet-4-20250514", 64_000],
      ["claude-3-7-sonnet-20250219", 64_000],
      ["claude-opus-4-1-20250805", 32_000],
      ["claude-opus-4-20250514", 32_000],
      ["claude-3-5-haiku-20241022", 8192],
      ["claude-3-haiku-20240307", 4096],
      ["my-proxy-model", 4096],
    ];
    for (const [model, expected] of defaults)
      expect([model, convert(batchOf(), model).max_tokens]).toEqual([model, expected]);
  });
});

describe("convertToAnthropicRequest: tools", () => {
  const tools = [
    {
      name: "get_weather",
      description: "Weather by city",
      parameters: { type: "object", properties: { city: { type: "string" } } },
    },
    { name: "now" },
  ];

  it("marks a tool result that is the tool's error with is_error", () => {
    const body = convert(
      batchOf({
        messages: [
          { role: "user", content: "weather?" },
          {
            role: "assistant",
            content: null,
            toolCalls: [
              { id: "toolu_1", type: "function", function: { name: "get_weather", arguments: "{}" } },
            ],
          },
          { role: "tool", toolCallId: "toolu_1", content: "city missing", toolError: true },
        ],
        features: { tools },
      }),
    );
    expect(body.messages[2]).toEqual({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "city missing", is_error: true }],
    });
  });

  it("sends no tool_choice when the request has no tools (auto or none then choose from nothing)", () => {
    expect(convert(batchOf({ features: { toolChoice: "auto" } })).tool_choice).toBeUndefined();
    expect(convert(batchOf({ features: { toolChoice: "none" } })).tool_choice).toBeUndefined();
    expect(convert(batchOf({ features: { tools, toolChoice: "none" } })).tool_choice).toEqual({
      type: "none",
    });
  });

  it("sends tools with input_schema (an empty object schema when the tool has none)", () => {
    expect(convert(batchOf({ features: { tools } })).tools).toEqual([
      {
        name: "get_weather",
        description: "Weather by city",
        input_schema: { type: "object", properties: { city: { type: "string" } } },
      },
      { name: "now", input_schema: { type: "object", properties: {} } },
    ]);
  });

  it("maps tool_choice: auto → auto, required → any, none → none, a name → tool", () => {
    const choice = (features: RequestFeatures) =>
      convert(batchOf({ features: { tools, ...features } })).tool_choice;
    expect(choice({})).toBeUndefined();
    expect(choice({ toolChoice: "auto" })).toEqual({ type: "auto" });
    expect(choice({ toolChoice: "required" })).toEqual({ type: "any" });
    expect(choice({ toolChoice: "none" })).toEqual({ type: "none" });
    expect(choice({ toolChoice: { name: "now" } })).toEqual({ type: "tool", name: "now" });
  });

  it("parallel_tool_calls: false → disable_parallel_tool_use in tool_choice (auto when none was given)", () => {
    const choice = (features: RequestFeatures) =>
      convert(batchOf({ features: { tools, parallelToolCalls: false, ...features } })).tool_choice;
    expect(choice({})).toEqual({ type: "auto", disable_parallel_tool_use: true });
    expect(choice({ toolChoice: "required" })).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(choice({ toolChoice: { name: "now" } })).toEqual({
      type: "tool",
      name: "now",
      disable_parallel_tool_use: true,
    });
    expect(choice({ toolChoice: "none" })).toEqual({ type: "none" });
    expect(convert(batchOf({ features: { parallelToolCalls: true, tools } })).tool_choice).toBeUndefined();
  });

  it("sends assistant tool calls as tool_use blocks and tool messages as tool_result blocks in one user turn", () => {
    const body = convert(
      batchOf({
        messages: [
          { role: "user", content: "Weather in Paris and Rome?" },
          {
            role: "assistant",
            content: "Checking.",
            toolCalls: [
              {
                id: "toolu_01",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Paris"}' },
              },
              { id: "toolu_02", type: "function", function: { name: "now", arguments: "" } },
            ],
          },
          { role: "tool", toolCallId: "toolu_01", content: "18°C" },
          { role: "tool", toolCallId: "toolu_02", content: [{ type: "text", text: "12:00" }] },
          { role: "user", content: "Thanks" },
        ],
      }),
    );
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "Checking." },
          { type: "tool_use", id: "toolu_01", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_02", name: "now", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_01", content: "18°C" },
          { type: "tool_result", tool_use_id: "toolu_02", content: [{ type: "text", text: "12:00" }] },
          { type: "text", text: "Thanks" },
        ],
      },
    ]);
  });

  it("refuses tool-call arguments that are not a JSON object, naming them", () => {
    for (const bad of ["[1,2]", "not json", "42"]) {
      const error = refusal(
        batchOf({
          messages: [
            { role: "user", content: "hi" },
            {
              role: "assistant",
              content: null,
              toolCalls: [
                { id: "a", type: "function", function: { name: "now", arguments: "{}" } },
                { id: "b", type: "function", function: { name: "now", arguments: bad } },
              ],
            },
          ],
        }),
      );
      expect(error.details).toEqual({
        kind: "bad_request",
        field: "messages[1].tool_calls[1].function.arguments",
      });
    }
  });

  it("refuses a tool message without tool_call_id", () => {
    expect(refusal(batchOf({ messages: [{ role: "tool", content: "x" }] })).details).toEqual({
      kind: "bad_request",
      field: "messages[0].tool_call_id",
    });
  });

  it("maps foreign tool-call ids with one function for tool_use and tool_result; fitting ids stay", () => {
    expect(anthropicToolId("toolu_01A09q90qw90lq917835lq9")).toBe("toolu_01A09q90qw90lq917835lq9");
    expect(anthropicToolId("call_abc-123")).toBe("call_abc-123");
    const gemini = "function-call/projects:weather#0?".repeat(4);
    const mapped = anthropicToolId(gemini);
    expect(mapped).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(anthropicToolId(gemini)).toBe(mapped);
    expect(anthropicToolId(`${gemini}x`)).not.toBe(mapped);
    expect(anthropicToolId("")).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(anthropicToolId("a".repeat(65))).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);

    const body = convert(
      batchOf({
        messages: [
          { role: "user", content: "hi" },
          {
            role: "assistant",
            content: null,
            toolCalls: [{ id: gemini, type: "function", function: { name: "now", arguments: "{}" } }],
          },
          { role: "tool", toolCallId: gemini, content: "12:00" },
        ],
      }),
    );
    expect(body.messages[1]?.content[0]).toMatchObject({ type: "tool_use", id: mapped });
    expect(body.messages[2]?.content[0]).toMatchObject({ type: "tool_result", tool_use_id: mapped });
  });
});

describe("convertToAnthropicRequest: reasoning round trip", () => {
  it("replays an assistant turn's signed reasoning blocks first, in order, before its text and tool calls", () => {
    const body = convert(
      batchOf({
        messages: [
          { role: "user", content: "What time is it?" },
          {
            role: "assistant",
            content: "Let me check.",
            reasoningBlocks: [
              { type: "thinking", thinking: "The user wants the time.", signature: "sig-1" },
              { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix" },
            ],
            toolCalls: [{ id: "toolu_1", type: "function", function: { name: "now", arguments: "{}" } }],
          },
          { role: "tool", toolCallId: "toolu_1", content: "12:00" },
        ],
        features: { reasoningEffort: "high", tools: [{ name: "now" }] },
      }),
    );
    expect(body.messages[1]?.content).toEqual([
      { type: "thinking", thinking: "The user wants the time.", signature: "sig-1" },
      { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix" },
      { type: "text", text: "Let me check." },
      { type: "tool_use", id: "toolu_1", name: "now", input: {} },
    ]);
  });

  it("adaptive models: thinking adaptive + output_config.effort (minimal → low), none → thinking disabled", () => {
    const adaptive = [
      "claude-opus-4-6",
      "claude-sonnet-4-6",
      "claude-opus-4-7",
      "claude-opus-5",
      "claude-sonnet-5",
      "claude-haiku-5-5",
      "claude-sonnet-5-5",
      "claude-opus-5-5",
      "claude-fable-5-2",
      "claude-mythos-5",
      "fable-5",
      "mythos-5-1",
    ];
    for (const model of adaptive) {
      const body = convert(batchOf({ features: { reasoningEffort: "medium" } }), model);
      expect([model, body.thinking, body.output_config]).toEqual([
        model,
        { type: "adaptive" },
        { effort: "medium" },
      ]);
    }
    const effort = (reasoningEffort: NonNullable<RequestFeatures["reasoningEffort"]>) =>
      convert(batchOf({ features: { reasoningEffort } }), "claude-opus-4-6").output_config?.effort;
    expect(effort("minimal")).toBe("low");
    expect(effort("low")).toBe("low");
    expect(effort("high")).toBe("high");
    expect(effort("xhigh")).toBe("xhigh");
    expect(effort("max")).toBe("max");
    const none = convert(batchOf({ features: { reasoningEffort: "none" } }), "claude-opus-4-6");
    expect(none.thinking).toEqual({ type: "disabled" });
    expect(none).not.toHaveProperty("output_config");
    // without reasoning_effort the provider's default stands
    expect(convert(batchOf(), "claude-opus-4-6")).not.toHaveProperty("thinking");
  });

  it("budget models: thinking enabled with the effort's budget, max_tokens raised above it within the model's limit", () => {
    const body = convert(
      batchOf({ sampling: { maxTokens: 1000 }, features: { reasoningEffort: "medium" } }),
      "claude-sonnet-4-5",
    );
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: thinkingBudgets.medium });
    expect(body.max_tokens).toBe(thinkingBudgets.medium + 1000);
    expect(body).not.toHaveProperty("output_config");
    // no max_tokens from the client: the model's default, which is its limit and above every budget
    expect(convert(batchOf({ features: { reasoningEffort: "max" } }), "claude-opus-4-1").max_tokens).toBe(
      32_000,
    );
    // budget + the client's max_tokens is capped at the model's limit
    expect(
      convert(
        batchOf({ sampling: { maxTokens: 30_000 }, features: { reasoningEffort: "high" } }),
        "claude-opus-4-20250514",
      ).max_tokens,
    ).toBe(32_000);
    // default_max_tokens stands in for the client's
    expect(
      convert(batchOf({ features: { reasoningEffort: "low" } }), "claude-3-7-sonnet-20250219", 500)
        .max_tokens,
    ).toBe(thinkingBudgets.low + 500);
    for (const model of [
      "claude-3-7-sonnet-20250219",
      "claude-sonnet-4-20250514",
      "claude-opus-4-1",
      "claude-haiku-4-5",
      "claude-opus-4-5",
    ]) {
      expect([model, convert(batchOf({ features: { reasoningEffort: "minimal" } }), model).thinking]).toEqual(
        [model, { type: "enabled", budget_tokens: 1024 }],
      );
    }
    expect(Object.values(thinkingBudgets).every((budget) => budget >= 1024 && budget < 32_000)).toBe(true);
    expect(convert(batchOf({ features: { reasoningEffort: "none" } }), "claude-sonnet-4-5").thinking).toEqual(
      {
        type: "disabled",
      },
    );
  });

  it("models before thinking refuse reasoning_effort with 400 naming it; none is fine", () => {
    for (const model of [
      "claude-3-5-haiku-20241022",
      "claude-3-5-sonnet-20241022",
      "claude-3-opus-20240229",
    ]) {
      const error = refusal(batchOf({ features: { reasoningEffort: "low" } }), model);
      expect(error.details).toEqual({ kind: "bad_request", field: "reasoning_effort" });
      expect(error.message).toContain(model);
      expect(convert(batchOf({ features: { reasoningEffort: "none" } }), model)).not.toHaveProperty(
        "thinking",
      );
    }
  });

  it("with thinking on refuses a forced tool_choice, temperature ≠ 1, top_k and top_p < 0.95, naming each", () => {
    const thinking = (sampling: SamplingParams, features: RequestFeatures = {}) =>
      batchOf({ sampling, features: { reasoningEffort: "high", tools: [{ name: "now" }], ...features } });
    const field = (batch: ExecuteBatch) => refusal(batch).details;
    expect(field(thinking({}, { toolChoice: "required" }))).toEqual({
      kind: "bad_request",
      field: "tool_choice",
    });
    expect(field(thinking({}, { toolChoice: { name: "now" } }))).toEqual({
      kind: "bad_request",
      field: "tool_choice",
    });
    expect(field(thinking({ temperature: 0.5 }))).toEqual({ kind: "bad_request", field: "temperature" });
    expect(field(thinking({ topK: 5 }))).toEqual({ kind: "bad_request", field: "top_k" });
    expect(field(thinking({ topP: 0.5 }))).toEqual({ kind: "bad_request", field: "top_p" });
    for (const fine of [
      thinking({ temperature: 1, topP: 0.95 }, { toolChoice: "auto" }),
      thinking({}, { toolChoice: "none" }),
    ]) {
      expect(anthropicRequestProblem(fine, "claude-sonnet-4-6")).toBeUndefined();
    }
    // the same settings without thinking (or with effort none) go through
    expect(
      anthropicRequestProblem(
        batchOf({
          sampling: { temperature: 0.5, topK: 5 },
          features: { reasoningEffort: "none", tools: [{ name: "now" }], toolChoice: "required" },
        }),
        "claude-sonnet-4-6",
      ),
    ).toBeUndefined();
  });
});

describe("convertToAnthropicRequest: response_format", () => {
  const schema = {
    type: "object",
    properties: { answer: { type: "string" } },
    required: ["answer"],
    additionalProperties: false,
  };
  const jsonSchema = { type: "json_schema" as const, name: "answer", schema };

  it("json_schema on models that take it → output_config.format", () => {
    for (const model of [
      "claude-sonnet-4-5",
      "claude-opus-4-1",
      "claude-haiku-4-5",
      "claude-opus-4-6",
      "claude-sonnet-5-5",
      "claude-opus-5",
    ]) {
      const body = convert(batchOf({ features: { responseFormat: jsonSchema } }), model);
      expect([model, body.output_config]).toEqual([model, { format: { type: "json_schema", schema } }]);
      expect(body).not.toHaveProperty("tools");
      expect(jsonResponseTool(batchOf({ features: { responseFormat: jsonSchema } }), model)).toBeUndefined();
    }
  });

  it("json_schema on older models, and json_object everywhere → a forced json_response tool", () => {
    const older = convert(batchOf({ features: { responseFormat: jsonSchema } }), "claude-sonnet-4-20250514");
    expect(older.tools).toEqual([
      { name: JSON_RESPONSE_TOOL, description: expect.stringContaining('"answer"'), input_schema: schema },
    ]);
    expect(older.tool_choice).toEqual({
      type: "tool",
      name: JSON_RESPONSE_TOOL,
      disable_parallel_tool_use: true,
    });
    expect(older).not.toHaveProperty("output_config");
    const object = convert(
      batchOf({ features: { responseFormat: { type: "json_object" } } }),
      "claude-opus-4-6",
    );
    expect(object.tools).toEqual([
      { name: JSON_RESPONSE_TOOL, description: expect.any(String), input_schema: { type: "object" } },
    ]);
    expect(object.tool_choice).toEqual({
      type: "tool",
      name: JSON_RESPONSE_TOOL,
      disable_parallel_tool_use: true,
    });
    expect(
      jsonResponseTool(batchOf({ features: { responseFormat: { type: "json_object" } } }), "claude-opus-4-6"),
    ).toBe(JSON_RESPONSE_TOOL);
    // a json_schema without a schema takes the tool path with an object schema
    const bare = convert(
      batchOf({ features: { responseFormat: { type: "json_schema", name: "x" } } }),
      "claude-opus-4-6",
    );
    expect(bare.tools?.[0]?.input_schema).toEqual({ type: "object" });
  });

  it("text → nothing", () => {
    const body = convert(batchOf({ features: { responseFormat: { type: "text" } } }));
    expect(body).not.toHaveProperty("output_config");
    expect(body).not.toHaveProperty("tools");
  });

  it("native format and thinking go together in output_config", () => {
    expect(
      convert(
        batchOf({ features: { responseFormat: jsonSchema, reasoningEffort: "low" } }),
        "claude-opus-4-6",
      ).output_config,
    ).toEqual({
      effort: "low",
      format: { type: "json_schema", schema },
    });
  });

  it("a forced-tool format with thinking on, or beside the request's tools, is refused naming response_format", () => {
    const withThinking = batchOf({
      features: { responseFormat: { type: "json_object" }, reasoningEffort: "high" },
    });
    expect(refusal(withThinking, "claude-opus-4-6").details).toEqual({
      kind: "bad_request",
      field: "response_format",
    });
    const withTools = batchOf({
      features: { responseFormat: { type: "json_object" }, tools: [{ name: "now" }] },
    });
    expect(refusal(withTools, "claude-opus-4-6").details).toEqual({
      kind: "bad_request",
      field: "response_format",
    });
    const withChoice = batchOf({ features: { responseFormat: jsonSchema, toolChoice: "none" } });
    expect(refusal(withChoice, "claude-3-7-sonnet-20250219").details).toEqual({
      kind: "bad_request",
      field: "response_format",
    });
  });
});

describe("anthropicRequestProblem", () => {
  it("refuses OpenAI sampling fields Anthropic has no equivalent of, naming the OpenAI field", () => {
    const cases: Array<[SamplingParams, string]> = [
      [{ presencePenalty: 0.5 }, "presence_penalty"],
      [{ frequencyPenalty: 0.5 }, "frequency_penalty"],
      [{ seed: 7 }, "seed"],
    ];
    for (const [sampling, field] of cases) {
      const error = anthropicRequestProblem(batchOf({ sampling }), "claude-sonnet-4-6");
      expect(error?.details).toEqual({ kind: "bad_request", field });
      expect(error?.message).toBe(`${field}: anthropic does not support ${field}`);
    }
  });

  it("accepts an ordinary request", () => {
    expect(anthropicRequestProblem(batchOf(), "claude-sonnet-4-6")).toBeUndefined();
  });
});

describe("anthropicModelTraits", () => {
  it("takes the longest listed prefix; an unlisted 4.x never takes 4.0's traits", () => {
    expect(anthropicModelTraits("claude-opus-4-1-20250805").thinking).toBe("budget");
    expect(anthropicModelTraits("claude-opus-4-6").thinking).toBe("adaptive");
    expect(anthropicModelTraits("claude-3-7-sonnet-latest").thinking).toBe("budget");
    expect(anthropicModelTraits("claude-3-5-sonnet-latest").thinking).toBe("none");
    expect(anthropicModelTraits("claude-opus-4-9")).toEqual({
      defaultMaxTokens: 4096,
      thinking: "adaptive",
      nativeJsonSchema: true,
    });
    expect(anthropicModelTraits("claude-opus-4-0").defaultMaxTokens).toBe(32_000);
  });
});
