import { describe, expect, it } from "vitest";
import { formatPath } from "../body-issues.js";
import { parseChatRequest, parseCompletionRequest } from "./openai-request.js";

const valid = { model: "tiny", messages: [{ role: "user", content: "hello" }] };

function chatError(body: unknown): { message: string; field: string | undefined } {
  const result = parseChatRequest(body);
  if (result.ok) throw new Error(`expected a refusal for ${JSON.stringify(body)}`);
  const details = result.error.details;
  expect(result.error.kind).toBe("bad_request");
  return { message: result.error.message, field: details.kind === "bad_request" ? details.field : undefined };
}

describe("parseChatRequest", () => {
  it("maps a full body to a ServiceRequest", () => {
    const result = parseChatRequest({
      model: "tiny",
      messages: [
        { role: "system", content: "be brief" },
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: "low" } },
          ],
          name: "ann",
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_1", type: "function", function: { name: "look", arguments: "{}" } }],
        },
        { role: "tool", content: "a cat", tool_call_id: "call_1" },
      ],
      max_completion_tokens: 32,
      max_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      stop: "END",
      presence_penalty: -1,
      frequency_penalty: 1.5,
      seed: 7,
      stream: true,
      stream_options: { include_usage: true },
      priority: -2,
      tools: [{ type: "function", function: { name: "look" } }],
      tool_choice: "auto",
      response_format: { type: "json_object" },
      user: "someone",
      n: 1,
      logprobs: false,
      some_future_field: { anything: true },
    });
    expect(result).toEqual({
      ok: true,
      includeUsage: true,
      request: {
        model: "tiny",
        messages: [
          { role: "system", content: "be brief" },
          {
            role: "user",
            content: [
              { type: "text", text: "what is this?" },
              { type: "image", source: { kind: "url", url: "https://example.com/cat.png" }, detail: "low" },
            ],
            name: "ann",
          },
          {
            role: "assistant",
            content: null,
            toolCalls: [{ id: "call_1", type: "function", function: { name: "look", arguments: "{}" } }],
          },
          { role: "tool", content: "a cat", toolCallId: "call_1" },
        ],
        sampling: {
          temperature: 0.5,
          topP: 0.9,
          topK: 40,
          maxTokens: 32,
          stop: ["END"],
          presencePenalty: -1,
          frequencyPenalty: 1.5,
          seed: 7,
        },
        stream: true,
        priority: -2,
        features: {
          tools: [{ name: "look" }],
          toolChoice: "auto",
          responseFormat: { type: "json_object" },
          user: "someone",
        },
      },
    });
  });

  it("an image part without detail (or with detail null) carries none", () => {
    const result = parseChatRequest({
      ...valid,
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: "https://x/a.png" } },
            { type: "image_url", image_url: { url: "https://x/b.png", detail: null } },
            { type: "image_url", image_url: { url: "https://x/c.png", detail: "auto" } },
          ],
        },
      ],
      user: null,
    });
    expect(result.ok && result.request.messages[0]?.content).toEqual([
      { type: "image", source: { kind: "url", url: "https://x/a.png" } },
      { type: "image", source: { kind: "url", url: "https://x/b.png" } },
      { type: "image", source: { kind: "url", url: "https://x/c.png" }, detail: "auto" },
    ]);
    expect(result.ok && result.request.features).toEqual({});
  });

  it("fills defaults and accepts null for optional fields", () => {
    const result = parseChatRequest({ ...valid, temperature: null, stop: null, stream_options: null });
    expect(result).toEqual({
      ok: true,
      includeUsage: false,
      request: {
        model: "tiny",
        messages: [{ role: "user", content: "hello" }],
        sampling: {},
        stream: false,
        priority: 0,
        features: {},
      },
    });
  });

  it("uses max_tokens when max_completion_tokens is absent", () => {
    const result = parseChatRequest({ ...valid, max_tokens: 5 });
    expect(result.ok && result.request.sampling.maxTokens).toBe(5);
  });

  it("reports include_usage only for streams", () => {
    const result = parseChatRequest({ ...valid, stream_options: { include_usage: true } });
    expect(result.ok && result.includeUsage).toBe(false);
  });

  it.each([
    [[], "request body must be a JSON object", undefined],
    ["text", "request body must be a JSON object", undefined],
    [{ messages: valid.messages }, "model: is required", "model"],
    [{ ...valid, model: 3 }, "model: must be a string", "model"],
    [{ ...valid, model: "" }, "model: must be a non-empty string", "model"],
    [{ model: "tiny" }, "messages: must be a non-empty array", "messages"],
    [{ ...valid, messages: {} }, "messages: must be a non-empty array", "messages"],
    [{ ...valid, messages: [] }, "messages: must be a non-empty array", "messages"],
    [{ ...valid, messages: [5] }, "messages[0]: must be an object", "messages[0]"],
    [
      { ...valid, messages: [valid.messages[0], { role: "robot", content: "x" }] },
      "messages[1].role: must be one of system, user, assistant, tool, developer",
      "messages[1].role",
    ],
    [
      { ...valid, messages: [{ role: "user", content: 5 }] },
      "messages[0].content: must be a string or an array of content parts",
      "messages[0].content",
    ],
    [
      { ...valid, messages: [{ role: "user" }] },
      "messages[0].content: must be a string or an array of content parts",
      "messages[0].content",
    ],
    [
      { ...valid, messages: [{ role: "assistant", content: null }] },
      "messages[0].content: must be a string or an array of content parts (null only with tool_calls)",
      "messages[0].content",
    ],
    [
      { ...valid, messages: [{ role: "user", content: [{ type: "text", text: 3 }] }] },
      "messages[0].content[0].text: must be a string",
      "messages[0].content[0].text",
    ],
    [
      { ...valid, messages: [{ role: "user", content: [{ type: "audio" }] }] },
      "messages[0].content[0].type: must be one of text, image_url",
      "messages[0].content[0].type",
    ],
    [
      {
        ...valid,
        messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "ftp://x" } }] }],
      },
      "messages[0].content[0].image_url.url: must be an http(s) URL or a data:image/<type>;base64,<data> URL",
      "messages[0].content[0].image_url.url",
    ],
    [
      {
        ...valid,
        messages: [
          {
            role: "user",
            content: [{ type: "image_url", image_url: { url: "https://x", detail: "ultra" } }],
          },
        ],
      },
      "messages[0].content[0].image_url.detail: must be one of auto, low, high",
      "messages[0].content[0].image_url.detail",
    ],
    [{ ...valid, user: 42 }, "user: must be a string", "user"],
    [
      {
        ...valid,
        messages: [{ role: "system", content: [{ type: "image_url", image_url: { url: "https://x" } }] }],
      },
      "messages[0].content[0].type: image_url parts are only allowed in user messages",
      "messages[0].content[0].type",
    ],
    [
      { ...valid, messages: [{ role: "tool", content: "x" }] },
      "messages[0].tool_call_id: is required for role tool",
      "messages[0].tool_call_id",
    ],
    [{ ...valid, max_tokens: -1 }, "max_tokens: must be a positive integer", "max_tokens"],
    [{ ...valid, max_tokens: 1.5 }, "max_tokens: must be a positive integer", "max_tokens"],
    [
      { ...valid, max_completion_tokens: 0 },
      "max_completion_tokens: must be a positive integer",
      "max_completion_tokens",
    ],
    [{ ...valid, temperature: 3 }, "temperature: must be between 0 and 2", "temperature"],
    [{ ...valid, temperature: "hot" }, "temperature: must be between 0 and 2", "temperature"],
    [{ ...valid, top_p: 0 }, "top_p: must be greater than 0 and at most 1", "top_p"],
    [{ ...valid, top_k: -1 }, "top_k: must be a non-negative integer", "top_k"],
    [
      { ...valid, stop: ["a", "b", "c", "d", "e"] },
      "stop: must be a non-empty string or an array of 1 to 4 non-empty strings",
      "stop",
    ],
    [{ ...valid, presence_penalty: -2.5 }, "presence_penalty: must be between -2 and 2", "presence_penalty"],
    [{ ...valid, seed: 0.5 }, "seed: must be an integer", "seed"],
    [{ ...valid, stream: "yes" }, "stream: must be a boolean", "stream"],
    [
      { ...valid, stream_options: { include_usage: 1 } },
      "stream_options.include_usage: must be a boolean",
      "stream_options.include_usage",
    ],
    [{ ...valid, priority: "high" }, "priority: must be an integer", "priority"],
    [{ ...valid, tools: {} }, "tools: must be an array of objects", "tools"],
    [{ ...valid, n: 2 }, "n: only n = 1 is supported", "n"],
    [{ ...valid, logprobs: true }, "logprobs: log probabilities are not supported", "logprobs"],
    [{ ...valid, top_logprobs: 3 }, "top_logprobs: log probabilities are not supported", "top_logprobs"],
    [{ ...valid, logit_bias: { "50256": -100 } }, "logit_bias: logit_bias is not supported", "logit_bias"],
    [{ ...valid, best_of: 3 }, "best_of: only best_of = 1 is supported", "best_of"],
  ])("refuses %j with %s", (body, message, field) => {
    expect(chatError(body)).toEqual({ message, field });
  });

  it("accepts the neutral values of refused fields", () => {
    expect(parseChatRequest({ ...valid, n: 1, logprobs: false, logit_bias: {}, best_of: 1 }).ok).toBe(true);
  });
});

describe("parseCompletionRequest", () => {
  it("maps the prompt to one user message", () => {
    const result = parseCompletionRequest({ model: "tiny", prompt: ["say hi"], max_tokens: 3, stream: true });
    expect(result).toEqual({
      ok: true,
      includeUsage: false,
      request: {
        model: "tiny",
        messages: [{ role: "user", content: "say hi" }],
        sampling: { maxTokens: 3 },
        stream: true,
        priority: 0,
        features: {},
      },
    });
  });

  it("passes user through", () => {
    const result = parseCompletionRequest({ model: "tiny", prompt: "x", user: "user-7" });
    expect(result.ok && result.request.features).toEqual({ user: "user-7" });
  });

  it.each([
    [{ model: "tiny" }, "prompt: is required"],
    [{ model: "tiny", prompt: ["a", "b"] }, "prompt: must be a string or an array with exactly one string"],
    [{ model: "tiny", prompt: [1, 2, 3] }, "prompt: must be a string or an array with exactly one string"],
    [{ model: "tiny", prompt: "x", echo: true }, "echo: echo is not supported"],
    [{ model: "tiny", prompt: "x", suffix: "end" }, "suffix: suffix is not supported"],
    [{ model: "tiny", prompt: "x", logprobs: 2 }, "logprobs: log probabilities are not supported"],
    [{ model: "tiny", prompt: "x", best_of: 2 }, "best_of: only best_of = 1 is supported"],
    [{ model: "tiny", prompt: "x", n: 3 }, "n: only n = 1 is supported"],
  ])("refuses %j with %s", (body, message) => {
    const result = parseCompletionRequest(body);
    expect(result.ok ? "accepted" : result.error.message).toBe(message);
  });
});

describe("formatPath", () => {
  it("joins keys with dots and indexes with brackets", () => {
    expect(formatPath(["messages", 1, "content", 0, "text"])).toBe("messages[1].content[0].text");
  });
});

describe("parseChatRequest: tools and response formats", () => {
  const tool = (name: string, extra: Record<string, unknown> = {}) => ({
    type: "function",
    function: { name, ...extra },
  });
  const parse = (fields: Record<string, unknown>) =>
    parseChatRequest({ model: "m", messages: [{ role: "user", content: "hi" }], ...fields });
  const refusal = (fields: Record<string, unknown>) => {
    const result = parse(fields);
    return result.ok ? undefined : result.error.message;
  };

  it("types every tool field, the tool choice, parallel_tool_calls and a json_schema format", () => {
    const parameters = { type: "object", properties: { q: { type: "string" } } };
    const result = parse({
      tools: [tool("search", { description: "look it up", parameters, strict: true }), tool("now")],
      tool_choice: { type: "function", function: { name: "search" } },
      parallel_tool_calls: false,
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", description: "d", schema: { type: "object" }, strict: true },
      },
    });
    expect(result.ok && result.request.features).toEqual({
      tools: [{ name: "search", description: "look it up", parameters, strict: true }, { name: "now" }],
      toolChoice: { name: "search" },
      parallelToolCalls: false,
      responseFormat: {
        type: "json_schema",
        name: "answer",
        description: "d",
        schema: { type: "object" },
        strict: true,
      },
    });
  });

  it("refuses a malformed tool, naming the field", () => {
    expect(refusal({ tools: [{ type: "custom", custom: { name: "x" } }] })).toBe(
      'tools[0].type: must be "function" (the only tool type supported)',
    );
    expect(refusal({ tools: [{ type: "function" }] })).toBe("tools[0].function: must be an object");
    expect(refusal({ tools: [tool("has space")] })).toBe(
      "tools[0].function.name: must be 1–64 letters, digits, _ or -",
    );
    expect(refusal({ tools: [{ type: "function", function: {} }] })).toBe(
      "tools[0].function.name: is required",
    );
    expect(refusal({ tools: [tool("f", { parameters: "object" })] })).toBe(
      "tools[0].function.parameters: must be an object",
    );
    expect(refusal({ tools: [tool("f"), tool("f")] })).toBe(
      'tools[1].function.name: repeats the tool name "f"',
    );
  });

  it("refuses a tool choice that is malformed, names no given tool, or asks for a call with no tools", () => {
    expect(refusal({ tools: [tool("f")], tool_choice: "sometimes" })).toBe(
      'tool_choice: must be "auto", "none", "required" or {"type": "function", "function": {"name": …}}',
    );
    expect(refusal({ tools: [tool("f")], tool_choice: { type: "function", function: { name: "g" } } })).toBe(
      'tool_choice: names the function "g", which is not in tools',
    );
    expect(refusal({ tool_choice: "required" })).toBe(
      "tool_choice: asks for a tool call, but tools is empty",
    );
    expect(refusal({ tool_choice: "none" })).toBeUndefined();
    expect(refusal({ parallel_tool_calls: "yes" })).toBe("parallel_tool_calls: must be a boolean");
  });

  it("takes reasoning_effort as OpenAI's values, and refuses another", () => {
    for (const effort of ["none", "minimal", "low", "medium", "high", "xhigh", "max"])
      expect(parse({ reasoning_effort: effort })).toMatchObject({
        ok: true,
        request: { features: { reasoningEffort: effort } },
      });
    expect(refusal({ reasoning_effort: "extreme" })).toBe(
      'reasoning_effort: must be one of "none", "minimal", "low", "medium", "high", "xhigh", "max"',
    );
  });

  it("refuses a response format it does not know, and a json_schema without a name", () => {
    expect(refusal({ response_format: { type: "yaml" } })).toBe(
      'response_format.type: must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema": {…}}',
    );
    expect(refusal({ response_format: { type: "json_schema", json_schema: { schema: {} } } })).toBe(
      "response_format.json_schema.name: is required",
    );
    expect(parse({ response_format: { type: "text" } })).toMatchObject({
      ok: true,
      request: { features: { responseFormat: { type: "text" } } },
    });
  });
});

describe("parseChatRequest: image parts", () => {
  const withImage = (url: string) =>
    parseChatRequest({
      model: "m",
      messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }],
    });
  const partOf = (url: string) => {
    const result = withImage(url);
    const content = result.ok ? result.request.messages[0]?.content : undefined;
    return Array.isArray(content) ? content[0] : undefined;
  };

  it("splits a base64 data: URL into its media type and data; keeps an http(s) URL as a URL", () => {
    expect(partOf("data:image/PNG;base64,iVBORw0KGgo=")).toEqual({
      type: "image",
      source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" },
    });
    expect(partOf("https://example.com/cat.jpg")).toEqual({
      type: "image",
      source: { kind: "url", url: "https://example.com/cat.jpg" },
    });
  });

  it("refuses a data: URL that is not base64 image data, naming the field", () => {
    for (const url of [
      "data:text/plain;base64,aGk=",
      "data:image/png,rawbytes",
      "data:image/png;base64,not base64!",
    ]) {
      const result = withImage(url);
      expect(result.ok).toBe(false);
      if (!result.ok)
        expect(result.error.message).toBe(
          "messages[0].content[0].image_url.url: must be an http(s) URL or a data:image/<type>;base64,<data> URL",
        );
    }
  });
});
