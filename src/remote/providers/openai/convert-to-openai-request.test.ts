// ExecuteBatch → OpenAI chat completions body: messages (text, image parts, tool turns), sampling
// params, pass-through fields, and the streaming flags every upstream call carries.

import { describe, expect, it } from "vitest";
import type { ExecuteBatch, Message, SamplingParams } from "../../../core/batch.js";
import type { RequestFeatures } from "../../../core/request-features.js";
import { convertToOpenAiRequest } from "./convert-to-openai-request.js";

function batch(
  options: {
    messages?: readonly Message[];
    sampling?: SamplingParams;
    features?: RequestFeatures;
    stream?: boolean;
  } = {},
): ExecuteBatch {
  return {
    requestId: "r-1",
    model: "gpt-4o",
    messages: options.messages ?? [{ role: "user", content: "hello" }],
    sampling: options.sampling ?? {},
    stream: options.stream ?? false,
    priority: 0,
    estimatedTokens: 10,
    features: options.features ?? {},
    signal: new AbortController().signal,
  };
}

describe("convertToOpenAiRequest", () => {
  it("always streams with usage requested, also for a unary client", () => {
    for (const stream of [false, true]) {
      const body = convertToOpenAiRequest(batch({ stream }), "gpt-4o");
      expect(body.stream).toBe(true);
      expect(body.stream_options).toEqual({ include_usage: true });
    }
  });

  it("sends the upstream model, not the deployment's", () => {
    expect(convertToOpenAiRequest(batch(), "my-azure-deployment").model).toBe("my-azure-deployment");
  });

  it("sends only the fields the request set", () => {
    expect(convertToOpenAiRequest(batch(), "gpt-4o")).toEqual({
      model: "gpt-4o",
      messages: [{ role: "user", content: "hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it("translates text and image parts", () => {
    const body = convertToOpenAiRequest(
      batch({
        messages: [
          { role: "system", content: "be brief" },
          {
            role: "user",
            content: [
              { type: "text", text: "what is this?" },
              { type: "image", source: { kind: "url", url: "https://example.com/cat.png" } },
              { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" } },
              { type: "image", source: { kind: "url", url: "https://example.com/map.png" }, detail: "high" },
            ],
          },
        ],
      }),
      "gpt-4o",
    );
    expect(body.messages).toEqual([
      { role: "system", content: "be brief" },
      {
        role: "user",
        content: [
          { type: "text", text: "what is this?" },
          { type: "image_url", image_url: { url: "https://example.com/cat.png" } },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
          { type: "image_url", image_url: { url: "https://example.com/map.png", detail: "high" } },
        ],
      },
    ]);
  });

  it("keeps assistant tool_calls (content null), tool messages with tool_call_id, and names", () => {
    const body = convertToOpenAiRequest(
      batch({
        messages: [
          { role: "user", content: "weather in Paris?", name: "alice" },
          {
            role: "assistant",
            content: null,
            toolCalls: [
              {
                id: "call_1",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Paris"}' },
              },
            ],
          },
          { role: "tool", content: '{"celsius":21}', toolCallId: "call_1" },
        ],
      }),
      "gpt-4o",
    );
    expect(body.messages).toEqual([
      { role: "user", content: "weather in Paris?", name: "alice" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", content: '{"celsius":21}', tool_call_id: "call_1" },
    ]);
  });

  it("sends signed reasoning back only where it is replayed (LiteLLM), never to OpenAI", () => {
    const turn: Message = {
      role: "assistant",
      content: null,
      reasoningBlocks: [{ type: "thinking", thinking: "Paris first.", signature: "EqQB" }],
      toolCalls: [
        {
          id: "call_1",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          signature: "c2ln",
        },
      ],
    };
    const plain = convertToOpenAiRequest(batch({ messages: [turn] }), "gpt-4o");
    expect(plain.messages[0]).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [
        { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      ],
    });
    const replayed = convertToOpenAiRequest(batch({ messages: [turn] }), "claude", {
      replaysReasoning: true,
    });
    expect(replayed.messages[0]).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [
        {
          id: "call_1",
          type: "function",
          function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          extra_content: { google: { thought_signature: "c2ln" } },
        },
      ],
      thinking_blocks: [{ type: "thinking", thinking: "Paris first.", signature: "EqQB" }],
    });
  });

  it("maps sampling params to OpenAI's fields", () => {
    const body = convertToOpenAiRequest(
      batch({
        sampling: {
          temperature: 0.2,
          topP: 0.9,
          maxTokens: 64,
          stop: ["\n\n", "END"],
          presencePenalty: 0.5,
          frequencyPenalty: -0.5,
          seed: 42,
        },
      }),
      "gpt-4o",
    );
    expect(body).toMatchObject({
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 64,
      stop: ["\n\n", "END"],
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      seed: 42,
    });
  });

  it("keeps zero-valued sampling params (temperature 0, seed 0)", () => {
    const body = convertToOpenAiRequest(batch({ sampling: { temperature: 0, seed: 0 } }), "gpt-4o");
    expect(body.temperature).toBe(0);
    expect(body.seed).toBe(0);
  });

  it("leaves out an empty stop list", () => {
    expect(convertToOpenAiRequest(batch({ sampling: { stop: [] } }), "gpt-4o")).not.toHaveProperty("stop");
  });

  it("encodes tools, tool_choice, parallel_tool_calls and response_format in OpenAI's shapes", () => {
    const parameters = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
    const body = convertToOpenAiRequest(
      batch({
        features: {
          tools: [
            { name: "get_weather", description: "Current weather", parameters, strict: true },
            { name: "now" },
          ],
          toolChoice: { name: "get_weather" },
          parallelToolCalls: false,
          responseFormat: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true },
        },
      }),
      "gpt-4o",
    );
    expect(JSON.parse(JSON.stringify(body))).toMatchObject({
      tools: [
        {
          type: "function",
          function: { name: "get_weather", description: "Current weather", parameters, strict: true },
        },
        { type: "function", function: { name: "now" } },
      ],
      tool_choice: { type: "function", function: { name: "get_weather" } },
      parallel_tool_calls: false,
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema: { type: "object" }, strict: true },
      },
    });
    expect(body.tools?.[1]?.function).toEqual({ name: "now" });
    const plain = convertToOpenAiRequest(
      batch({ features: { responseFormat: { type: "json_object" } } }),
      "m",
    );
    expect(plain.response_format).toEqual({ type: "json_object" });
    expect(plain).not.toHaveProperty("parallel_tool_calls");
    expect(plain).not.toHaveProperty("reasoning_effort");
    expect(
      convertToOpenAiRequest(batch({ features: { reasoningEffort: "low" } }), "o3").reasoning_effort,
    ).toBe("low");
  });

  it("passes the client's user through", () => {
    expect(convertToOpenAiRequest(batch({ features: { user: "user-42" } }), "m").user).toBe("user-42");
    expect(convertToOpenAiRequest(batch(), "m")).not.toHaveProperty("user");
  });

  it("sends a string tool_choice as it is", () => {
    expect(convertToOpenAiRequest(batch({ features: { toolChoice: "required" } }), "m").tool_choice).toBe(
      "required",
    );
  });

  it("does not mutate the batch's messages", () => {
    const toolCalls = [
      { id: "c", type: "function" as const, function: { name: "f", arguments: "{}" } },
    ] as const;
    const messages: Message[] = [{ role: "assistant", content: null, toolCalls }];
    const body = convertToOpenAiRequest(batch({ messages }), "m");
    body.messages[0]?.tool_calls?.push({ id: "x", type: "function", function: { name: "g", arguments: "" } });
    expect(messages[0]?.toolCalls).toHaveLength(1);
  });
});
