// The Messages body parser (docs/api.md, "Anthropic Messages API"): every field mapped to the
// neutral request, tool results split into tool messages before the user's content, signed
// reasoning kept in order, the thinking → reasoning effort mapping, and each refusal naming its field.

import { describe, expect, it } from "vitest";
import {
  HIGH_BUDGET,
  MEDIUM_BUDGET,
  parseCountTokensRequest,
  parseMessagesRequest,
  reasoningEffortOf,
} from "./anthropic-messages-request.js";

const valid = { model: "claude", max_tokens: 64, messages: [{ role: "user", content: "hello" }] };

function refusal(
  body: unknown,
  parse = parseMessagesRequest,
): { message: string; field: string | undefined } {
  const result = parse(body);
  if (result.ok) throw new Error(`expected a refusal for ${JSON.stringify(body)}`);
  expect(result.error.kind).toBe("bad_request");
  const details = result.error.details;
  return { message: result.error.message, field: details.kind === "bad_request" ? details.field : undefined };
}

function request(body: unknown) {
  const result = parseMessagesRequest(body);
  if (!result.ok) throw new Error(`expected a request, got ${result.error.message}`);
  return result.request;
}

const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

describe("parseMessagesRequest", () => {
  it("maps a full body to a ServiceRequest", () => {
    expect(
      request({
        model: "claude",
        max_tokens: 1024,
        system: [
          { type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } },
          { type: "text", text: "Answer in French." },
        ],
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "image", source: { type: "base64", media_type: "image/PNG", data: PNG } },
              { type: "image", source: { type: "url", url: "https://example.com/cat.png" } },
            ],
          },
          {
            role: "assistant",
            content: [
              { type: "redacted_thinking", data: "EmwKAhgB" },
              { type: "thinking", thinking: "Look it up.", signature: "EqQBCg==" },
              { type: "text", text: "Let me look." },
              { type: "tool_use", id: "toolu_01", name: "look", input: { what: "cat" } },
              { type: "tool_use", id: "toolu_02", name: "look", input: {} },
            ],
          },
          {
            role: "user",
            content: [
              { type: "text", text: "Both done." },
              { type: "tool_result", tool_use_id: "toolu_01", content: "a cat" },
              {
                type: "tool_result",
                tool_use_id: "toolu_02",
                content: [{ type: "text", text: "no idea" }],
                is_error: true,
              },
            ],
          },
        ],
        tools: [
          {
            name: "look",
            description: "Looks",
            input_schema: { type: "object", properties: { what: { type: "string" } } },
            cache_control: { type: "ephemeral" },
          },
        ],
        tool_choice: { type: "auto", disable_parallel_tool_use: true },
        stop_sequences: ["END"],
        temperature: 0.5,
        top_p: 0.9,
        top_k: 40,
        metadata: { user_id: "user-7" },
        stream: true,
        service_tier: "auto",
        some_future_field: { anything: true },
      }),
    ).toEqual({
      model: "claude",
      messages: [
        {
          role: "system",
          content: [
            { type: "text", text: "Be brief." },
            { type: "text", text: "Answer in French." },
          ],
        },
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image", source: { kind: "base64", mediaType: "image/png", data: PNG } },
            { type: "image", source: { kind: "url", url: "https://example.com/cat.png" } },
          ],
        },
        {
          role: "assistant",
          content: [{ type: "text", text: "Let me look." }],
          toolCalls: [
            { id: "toolu_01", type: "function", function: { name: "look", arguments: '{"what":"cat"}' } },
            { id: "toolu_02", type: "function", function: { name: "look", arguments: "{}" } },
          ],
          reasoningBlocks: [
            { type: "redacted_thinking", data: "EmwKAhgB" },
            { type: "thinking", thinking: "Look it up.", signature: "EqQBCg==" },
          ],
        },
        // tool results first, in order, then the user's own content
        { role: "tool", toolCallId: "toolu_01", content: "a cat" },
        {
          role: "tool",
          toolCallId: "toolu_02",
          content: [{ type: "text", text: "no idea" }],
          toolError: true,
        },
        { role: "user", content: [{ type: "text", text: "Both done." }] },
      ],
      sampling: { temperature: 0.5, topP: 0.9, topK: 40, maxTokens: 1024, stop: ["END"] },
      stream: true,
      priority: 0,
      features: {
        tools: [
          {
            name: "look",
            description: "Looks",
            parameters: { type: "object", properties: { what: { type: "string" } } },
          },
        ],
        toolChoice: "auto",
        parallelToolCalls: false,
        user: "user-7",
      },
    });
  });

  it("a minimal body: a string system, string content, no features, not streamed", () => {
    expect(request({ ...valid, system: "Be brief." })).toEqual({
      model: "claude",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello" },
      ],
      sampling: { maxTokens: 64 },
      stream: false,
      priority: 0,
      features: {},
    });
  });

  it("a user turn of only tool results has no user message; an assistant turn of only tool calls has null content", () => {
    const { messages } = request({
      ...valid,
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: [{ type: "tool_use", id: "call_1", name: "weather", input: { city: "Oslo" } }],
        },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "call_1" }] },
      ],
    });
    expect(messages).toEqual([
      { role: "user", content: "weather?" },
      {
        role: "assistant",
        content: null,
        toolCalls: [
          { id: "call_1", type: "function", function: { name: "weather", arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: "tool", toolCallId: "call_1", content: "" },
    ]);
  });

  it("a thinking block without a signature (an unsigned one this gateway showed) is not replayed", () => {
    const { messages } = request({
      ...valid,
      messages: [
        { role: "user", content: "hi" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "vLLM's reasoning", signature: "" },
            { type: "text", text: "Hello" },
          ],
        },
        { role: "user", content: "again" },
      ],
    });
    expect(messages[1]).toEqual({ role: "assistant", content: [{ type: "text", text: "Hello" }] });
  });

  it("tool_choice: any is required, tool is the named one, none is none", () => {
    const tools = [{ name: "look", input_schema: { type: "object" } }];
    expect(request({ ...valid, tools, tool_choice: { type: "any" } }).features.toolChoice).toBe("required");
    expect(request({ ...valid, tools, tool_choice: { type: "tool", name: "look" } }).features).toEqual({
      tools: [{ name: "look", parameters: { type: "object" } }],
      toolChoice: { name: "look" },
    });
    expect(request({ ...valid, tools, tool_choice: { type: "none" } }).features.toolChoice).toBe("none");
    expect(request({ ...valid, tool_choice: { type: "auto" } }).features).toEqual({ toolChoice: "auto" });
  });

  it("thinking and output_config.effort become the reasoning effort", () => {
    const effort = (extra: object) =>
      request({ ...valid, max_tokens: 32_000, ...extra }).features.reasoningEffort;
    expect(effort({ thinking: { type: "enabled", budget_tokens: 1024 } })).toBe("low");
    expect(effort({ thinking: { type: "enabled", budget_tokens: MEDIUM_BUDGET - 1 } })).toBe("low");
    expect(effort({ thinking: { type: "enabled", budget_tokens: MEDIUM_BUDGET } })).toBe("medium");
    expect(effort({ thinking: { type: "enabled", budget_tokens: HIGH_BUDGET - 1 } })).toBe("medium");
    expect(effort({ thinking: { type: "enabled", budget_tokens: HIGH_BUDGET } })).toBe("high");
    expect(effort({ thinking: { type: "adaptive" } })).toBe("medium");
    expect(
      effort({ thinking: { type: "adaptive", display: "summarized" }, output_config: { effort: "max" } }),
    ).toBe("max");
    expect(effort({ thinking: { type: "between_tools" } })).toBe("medium");
    expect(effort({ output_config: { effort: "xhigh" } })).toBe("xhigh");
    expect(effort({ thinking: { type: "disabled" }, output_config: { effort: "high" } })).toBe("none");
    expect(effort({})).toBeUndefined();
    expect(reasoningEffortOf(undefined, null)).toBeUndefined();
  });

  it("output_config.format json_schema is the response format", () => {
    const schema = { type: "object", properties: { city: { type: "string" } } };
    expect(
      request({ ...valid, output_config: { format: { type: "json_schema", schema } } }).features
        .responseFormat,
    ).toEqual({ type: "json_schema", name: "response", schema });
  });

  it("null optional fields are as if absent", () => {
    expect(
      request({
        ...valid,
        system: null,
        tools: null,
        tool_choice: null,
        stop_sequences: null,
        temperature: null,
        thinking: null,
        output_config: null,
        metadata: { user_id: null },
        stream: null,
      }),
    ).toEqual(request(valid));
  });

  it.each([
    [{ ...valid, max_tokens: undefined }, "max_tokens", "is required"],
    [{ ...valid, max_tokens: 0 }, "max_tokens", "must be a positive integer"],
    [{ ...valid, max_tokens: 1.5 }, "max_tokens", "must be a positive integer"],
    [{ ...valid, model: undefined }, "model", "is required"],
    [{ ...valid, model: "" }, "model", "must be a non-empty string"],
    [{ ...valid, messages: [] }, "messages", "must be a non-empty array"],
    [
      { ...valid, messages: [{ role: "system", content: "x" }] },
      "messages[0].role",
      'must be "user" or "assistant"',
    ],
    [{ ...valid, messages: [{ role: "user" }] }, "messages[0].content", "is required"],
    [
      { ...valid, messages: [{ role: "user", content: [{ type: "document", source: {} }] }] },
      "messages[0].content[0].type",
      '"document" blocks are not supported',
    ],
    [
      {
        ...valid,
        messages: [
          {
            role: "user",
            content: [
              { type: "image", source: { type: "base64", media_type: "image/png", data: "not base64!" } },
            ],
          },
        ],
      },
      "messages[0].content[0].source.data",
      "must be base64 text",
    ],
    [
      {
        ...valid,
        messages: [
          {
            role: "user",
            content: [{ type: "image", source: { type: "base64", media_type: "text/plain", data: PNG } }],
          },
        ],
      },
      "messages[0].content[0].source.media_type",
      "must be an image media type",
    ],
    [
      {
        ...valid,
        messages: [
          { role: "user", content: [{ type: "image", source: { type: "url", url: "file:///etc/passwd" } }] },
        ],
      },
      "messages[0].content[0].source.url",
      "must be an http(s) URL",
    ],
    [
      {
        ...valid,
        messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "f" } }] }],
      },
      "messages[0].content[0].source.type",
      'must be {"type": "base64"',
    ],
    [
      {
        ...valid,
        messages: [{ role: "user", content: [{ type: "tool_use", id: "t", name: "n", input: {} }] }],
      },
      "messages[0].content[0].type",
      "tool_use blocks are only allowed in assistant messages",
    ],
    [
      { ...valid, messages: [{ role: "assistant", content: [{ type: "tool_result", tool_use_id: "t" }] }] },
      "messages[0].content[0].type",
      "tool_result blocks are only allowed in user messages",
    ],
    [
      {
        ...valid,
        messages: [{ role: "assistant", content: [{ type: "tool_use", id: "t", name: "n", input: [] }] }],
      },
      "messages[0].content[0].input",
      "must be an object",
    ],
    [
      { ...valid, messages: [{ role: "assistant", content: [{ type: "thinking", thinking: "x" }] }] },
      "messages[0].content[0].signature",
      "is required",
    ],
    [
      {
        ...valid,
        messages: [
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: "t", content: [{ type: "tool_use" }] }],
          },
        ],
      },
      "messages[0].content[0].content[0].type",
      '"tool_use" blocks are not supported: must be one of text, image',
    ],
    [
      { ...valid, tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 3 }] },
      "tools[0]",
      'the server tool "web_search" (type "web_search_20250305") is not supported',
    ],
    [{ ...valid, tools: [{ name: "look" }] }, "tools[0].input_schema", "is required"],
    [{ ...valid, tools: [{ name: "look me", input_schema: {} }] }, "tools[0].name", "must be 1–64 letters"],
    [
      {
        ...valid,
        tools: [
          { name: "a", input_schema: {} },
          { name: "a", input_schema: {} },
        ],
      },
      "tools[1].name",
      'repeats the tool name "a"',
    ],
    [
      { ...valid, tool_choice: { type: "any" } },
      "tool_choice",
      '"any" asks for a tool call, but tools is empty',
    ],
    [
      { ...valid, tools: [{ name: "a", input_schema: {} }], tool_choice: { type: "tool", name: "b" } },
      "tool_choice.name",
      'names the tool "b", which is not in tools',
    ],
    [{ ...valid, tool_choice: { type: "required" } }, "tool_choice.type", 'must be {"type": "auto"}'],
    [{ ...valid, tool_choice: "auto" }, "tool_choice", 'must be {"type": "auto"}'],
    [{ ...valid, stop_sequences: "END" }, "stop_sequences", "must be an array of non-empty strings"],
    [{ ...valid, temperature: 1.5 }, "temperature", "must be between 0 and 1"],
    [{ ...valid, top_p: -0.1 }, "top_p", "must be between 0 and 1"],
    [{ ...valid, top_k: -1 }, "top_k", "must be a non-negative integer"],
    [{ ...valid, thinking: { type: "enabled" } }, "thinking.budget_tokens", "is required"],
    [
      { ...valid, thinking: { type: "enabled", budget_tokens: 512 } },
      "thinking.budget_tokens",
      "at least 1024",
    ],
    [
      { ...valid, thinking: { type: "enabled", budget_tokens: 2048 } },
      "thinking.budget_tokens",
      "must be less than max_tokens (64)",
    ],
    [{ ...valid, thinking: { type: "on" } }, "thinking.type", 'must be {"type": "enabled"'],
    [{ ...valid, output_config: { effort: "extreme" } }, "output_config.effort", 'must be one of "low"'],
    [
      { ...valid, output_config: { format: { type: "json_object" } } },
      "output_config.format.type",
      'must be "json_schema"',
    ],
    [{ ...valid, metadata: { user_id: 7 } }, "metadata.user_id", "must be a string"],
    [{ ...valid, stream: "yes" }, "stream", "must be a boolean"],
  ])("refuses %j naming %s", (body, field, message) => {
    const refused = refusal(body);
    expect(refused.field).toBe(field);
    expect(refused.message.startsWith(`${field}: `)).toBe(true);
    expect(refused.message).toContain(message);
  });

  it("a body that is not an object is refused as a whole", () => {
    const refused = refusal([1, 2]);
    expect(refused.field).toBeUndefined();
    expect(refused.message).toBe("request body must be a JSON object");
  });
});

describe("parseCountTokensRequest", () => {
  it("takes the body without max_tokens and never streams", () => {
    const result = parseCountTokensRequest({
      model: "claude",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    expect(result).toEqual({
      ok: true,
      request: {
        model: "claude",
        messages: [{ role: "user", content: "hi" }],
        sampling: {},
        stream: false,
        priority: 0,
        features: {},
      },
    });
  });

  it("refuses what the Messages body refuses, naming the field", () => {
    const refused = refusal(
      { model: "claude", messages: [{ role: "robot", content: "hi" }] },
      parseCountTokensRequest,
    );
    expect(refused.field).toBe("messages[0].role");
  });
});
