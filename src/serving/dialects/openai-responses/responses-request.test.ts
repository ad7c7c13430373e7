// POST /v1/responses bodies: what each field becomes in the neutral request, what the Response
// repeats of it, and every refusal naming its field.

import type OpenAI from "openai";
import { describe, expect, it } from "vitest";
import type { InferenceError } from "../../../core/inference-error.js";
import { encodeEnvelope } from "./responses-items.js";
import { parseResponsesBody, type ResponsesBody } from "./responses-request.js";

type CreateParams = OpenAI.Responses.ResponseCreateParamsNonStreaming;

function parse(body: CreateParams | Record<string, unknown>): ResponsesBody {
  const parsed = parseResponsesBody(body);
  if (!parsed.ok) throw new Error(`refused: ${parsed.error.message}`);
  return parsed.body;
}

function refusal(body: unknown): InferenceError {
  const parsed = parseResponsesBody(body);
  if (parsed.ok) throw new Error("accepted a body that should be refused");
  return parsed.error;
}

describe("parseResponsesBody: fields", () => {
  it("a string input is one user message; the defaults are OpenAI's", () => {
    const body = parse({ model: "gpt", input: "hello" });
    expect(body.items).toEqual([{ kind: "message", message: { role: "user", content: "hello" } }]);
    expect(body).toMatchObject({
      model: "gpt",
      stream: false,
      store: true,
      priority: 0,
      includeEncrypted: false,
    });
    expect(body.sampling).toEqual({});
    expect(body.features).toEqual({});
    expect(body.echo).toEqual({
      instructions: null,
      max_output_tokens: null,
      parallel_tool_calls: true,
      previous_response_id: null,
      reasoning: { effort: null, summary: null },
      temperature: null,
      text: { format: { type: "text" } },
      tool_choice: "auto",
      tools: [],
      top_p: null,
      metadata: {},
    });
  });

  it("sampling, reasoning, text.format, tools, user and metadata become the neutral request", () => {
    const body = parse({
      model: "gpt",
      input: "hi",
      instructions: "be brief",
      max_output_tokens: 64,
      temperature: 0.5,
      top_p: 0.9,
      reasoning: { effort: "high", summary: "auto" },
      text: {
        format: {
          type: "json_schema",
          name: "answer",
          schema: { type: "object", properties: { a: { type: "string" } } },
          strict: true,
        },
      },
      tools: [
        {
          type: "function",
          name: "lookup",
          description: "finds things",
          parameters: { type: "object", properties: {} },
          strict: false,
        },
      ],
      tool_choice: { type: "function", name: "lookup" },
      parallel_tool_calls: false,
      user: "end-user-1",
      metadata: { topic: "tests" },
      store: false,
      stream: true,
      include: ["reasoning.encrypted_content"],
      previous_response_id: "resp_1",
    });
    expect(body.instructions).toBe("be brief");
    expect(body.sampling).toEqual({ maxTokens: 64, temperature: 0.5, topP: 0.9 });
    expect(body.features).toEqual({
      tools: [
        {
          name: "lookup",
          description: "finds things",
          parameters: { type: "object", properties: {} },
          strict: false,
        },
      ],
      toolChoice: { name: "lookup" },
      parallelToolCalls: false,
      responseFormat: {
        type: "json_schema",
        name: "answer",
        schema: { type: "object", properties: { a: { type: "string" } } },
        strict: true,
      },
      reasoningEffort: "high",
      user: "end-user-1",
    });
    expect(body).toMatchObject({
      store: false,
      stream: true,
      includeEncrypted: true,
      previousResponseId: "resp_1",
    });
    expect(body.echo).toMatchObject({
      instructions: "be brief",
      max_output_tokens: 64,
      parallel_tool_calls: false,
      previous_response_id: "resp_1",
      reasoning: { effort: "high", summary: "auto" },
      tool_choice: { type: "function", name: "lookup" },
      tools: [
        {
          type: "function",
          name: "lookup",
          description: "finds things",
          parameters: { type: "object", properties: {} },
          strict: false,
        },
      ],
      metadata: { topic: "tests" },
      user: "end-user-1",
    });
  });

  it("json_object and text formats; safety_identifier stands in for user", () => {
    expect(parse({ model: "m", input: "x", text: { format: { type: "json_object" } } }).features).toEqual({
      responseFormat: { type: "json_object" },
    });
    expect(parse({ model: "m", input: "x", text: { format: { type: "text" } } }).features).toEqual({
      responseFormat: { type: "text" },
    });
    expect(parse({ model: "m", input: "x", safety_identifier: "hashed-user" }).features).toEqual({
      user: "hashed-user",
    });
  });

  it("input items: messages of every role, parts, function calls and their outputs, references", () => {
    const envelope = encodeEnvelope({
      blocks: [{ type: "thinking", thinking: "hmm", signature: "sig" }],
      signatures: { call_1: "call-sig" },
    });
    const body = parse({
      model: "m",
      input: [
        { role: "developer", content: "rules" },
        { type: "message", role: "system", content: [{ type: "input_text", text: "more rules" }] },
        {
          role: "user",
          content: [
            { type: "input_text", text: "look" },
            { type: "input_image", image_url: "https://example.com/a.png", detail: "low" },
            { type: "input_image", image_url: "data:image/PNG;base64,iVBORw0KGgo=", detail: "original" },
          ],
        },
        {
          type: "message",
          role: "assistant",
          id: "msg_x",
          status: "completed",
          content: [
            { type: "output_text", text: "I see ", annotations: [] },
            { type: "refusal", refusal: "nothing" },
          ],
        },
        { type: "reasoning", id: "rs_x", summary: [], encrypted_content: envelope },
        {
          type: "reasoning",
          id: "rs_y",
          summary: [{ type: "summary_text", text: "t" }],
          encrypted_content: "gAAAA",
        },
        { type: "function_call", call_id: "call_1", name: "look", arguments: "{}" },
        { type: "function_call_output", call_id: "call_1", output: "a cat" },
        {
          type: "function_call_output",
          call_id: "call_2",
          output: [
            { type: "input_text", text: "part one, " },
            { type: "input_text", text: "part two" },
          ],
        },
        { type: "item_reference", id: "msg_0_r-1-a" },
      ],
    });
    expect(body.items).toEqual([
      { kind: "message", message: { role: "developer", content: "rules" } },
      { kind: "message", message: { role: "system", content: [{ type: "text", text: "more rules" }] } },
      {
        kind: "message",
        message: {
          role: "user",
          content: [
            { type: "text", text: "look" },
            { type: "image", source: { kind: "url", url: "https://example.com/a.png" }, detail: "low" },
            {
              type: "image",
              source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" },
              detail: "high",
            },
          ],
        },
      },
      { kind: "assistant", text: "I see nothing" },
      {
        kind: "reasoning",
        envelope: {
          blocks: [{ type: "thinking", thinking: "hmm", signature: "sig" }],
          signatures: { call_1: "call-sig" },
        },
      },
      { kind: "reasoning", envelope: undefined },
      {
        kind: "function_call",
        call: { id: "call_1", type: "function", function: { name: "look", arguments: "{}" } },
      },
      { kind: "function_call_output", callId: "call_1", output: "a cat" },
      { kind: "function_call_output", callId: "call_2", output: "part one, part two" },
      { kind: "reference", id: "msg_0_r-1-a" },
    ]);
  });

  it("null stands for absent, as clients send it", () => {
    const body = parse({
      model: "m",
      input: "x",
      instructions: null,
      temperature: null,
      top_p: null,
      max_output_tokens: null,
      tools: null,
      tool_choice: null,
      text: null,
      reasoning: null,
      store: null,
      previous_response_id: null,
      metadata: null,
      user: null,
    });
    expect(body.features).toEqual({});
    expect(body.store).toBe(true);
  });
});

describe("parseResponsesBody: refusals name the field", () => {
  const base = { model: "m", input: "x" };
  const cases: Array<[string, unknown, string]> = [
    ["no model", { input: "x" }, "model: is required"],
    ["no input", { model: "m" }, "input: is required"],
    ["empty input array", { model: "m", input: [] }, "input: must not be an empty array"],
    [
      "input of the wrong type",
      { model: "m", input: 3 },
      "input: must be a string or an array of input items",
    ],
    [
      "a web_search tool",
      { ...base, tools: [{ type: "function", name: "f" }, { type: "web_search" }] },
      'tools[1].type: built-in tool "web_search" is not supported: only function tools are',
    ],
    [
      "a file_search tool",
      { ...base, tools: [{ type: "file_search", vector_store_ids: ["vs_1"] }] },
      'tools[0].type: built-in tool "file_search" is not supported: only function tools are',
    ],
    [
      "a computer_use_preview tool",
      { ...base, tools: [{ type: "computer_use_preview", display_width: 1, display_height: 1 }] },
      'tools[0].type: built-in tool "computer_use_preview" is not supported: only function tools are',
    ],
    [
      "an mcp tool",
      { ...base, tools: [{ type: "mcp", server_label: "x" }] },
      'tools[0].type: built-in tool "mcp" is not supported: only function tools are',
    ],
    ["a tool without type", { ...base, tools: [{ name: "f" }] }, "tools[0].type: is required"],
    [
      "a bad tool name",
      { ...base, tools: [{ type: "function", name: "no spaces" }] },
      "tools[0].name: must be 1–64",
    ],
    [
      "a repeated tool name",
      {
        ...base,
        tools: [
          { type: "function", name: "f" },
          { type: "function", name: "f" },
        ],
      },
      'tools[1].name: repeats the tool name "f"',
    ],
    [
      "a built-in tool_choice",
      { ...base, tool_choice: { type: "web_search_preview" } },
      'tool_choice.type: "web_search_preview" is not supported',
    ],
    [
      "a tool_choice word",
      { ...base, tool_choice: "any" },
      'tool_choice: must be "auto", "none", "required"',
    ],
    [
      "a tool_choice naming no tool",
      { ...base, tools: [{ type: "function", name: "f" }], tool_choice: { type: "function", name: "g" } },
      'tool_choice: names the function "g", which is not in tools',
    ],
    ["required without tools", { ...base, tool_choice: "required" }, "tool_choice: asks for a tool call"],
    [
      "max_output_tokens 0",
      { ...base, max_output_tokens: 0 },
      "max_output_tokens: must be a positive integer",
    ],
    ["temperature 3", { ...base, temperature: 3 }, "temperature: must be between 0 and 2"],
    ["top_p 0", { ...base, top_p: 0 }, "top_p: must be greater than 0 and at most 1"],
    ["an unknown effort", { ...base, reasoning: { effort: "extreme" } }, "reasoning.effort: must be one of"],
    [
      "json_schema without schema",
      { ...base, text: { format: { type: "json_schema", name: "a" } } },
      "text.format.schema: is required",
    ],
    ["an unknown format", { ...base, text: { format: { type: "yaml" } } }, "text.format.type: must be"],
    ["verbosity low", { ...base, text: { verbosity: "low" } }, 'text.verbosity: only "medium" is supported'],
    ["top_logprobs", { ...base, top_logprobs: 2 }, "top_logprobs: log probabilities are not supported"],
    [
      "logprobs in include",
      { ...base, include: ["reasoning.encrypted_content", "message.output_text.logprobs"] },
      "include[1]: log probabilities are not supported",
    ],
    ["truncation auto", { ...base, truncation: "auto" }, 'truncation: only "disabled" is supported'],
    ["background", { ...base, background: true }, "background: background responses are not supported"],
    ["a conversation", { ...base, conversation: "conv_1" }, "conversation: conversations are not supported"],
    ["a stored prompt", { ...base, prompt: { id: "pmpt_1" } }, "prompt: stored prompts are not supported"],
    [
      "too much metadata",
      { ...base, metadata: { k: "x".repeat(513) } },
      "metadata.k: must be an object of at most 16",
    ],
    ["an item without type or role", { model: "m", input: [{ content: "x" }] }, "input[0].type: is required"],
    [
      "a built-in tool's item",
      { model: "m", input: [{ type: "web_search_call", id: "ws_1", status: "completed" }] },
      'input[0].type: "web_search_call" items are not supported',
    ],
    [
      "an unknown role",
      { model: "m", input: [{ role: "tool", content: "x" }] },
      "input[0].role: must be one of user, assistant, system, developer",
    ],
    [
      "an image by file id",
      {
        model: "m",
        input: [{ role: "user", content: [{ type: "input_image", file_id: "file-1", detail: "auto" }] }],
      },
      "input[0].content[0].file_id: file ids are not supported",
    ],
    [
      "an image URL that is neither http(s) nor data:",
      {
        model: "m",
        input: [{ role: "user", content: [{ type: "input_image", image_url: "ftp://x", detail: "auto" }] }],
      },
      "input[0].content[0].image_url: must be an http(s) URL or a data:image/<type>;base64,<data> URL",
    ],
    [
      "an image in a system message",
      {
        model: "m",
        input: [{ role: "system", content: [{ type: "input_image", image_url: "https://x/a.png" }] }],
      },
      "input[0].content[0].type: images are only allowed in user messages",
    ],
    [
      "a file part",
      { model: "m", input: [{ role: "user", content: [{ type: "input_file", file_id: "file-1" }] }] },
      "input[0].content[0].type: input_file parts are not supported",
    ],
    [
      "output_text in a user message",
      { model: "m", input: [{ role: "user", content: [{ type: "output_text", text: "x" }] }] },
      "input[0].content[0].type: output_text parts are only allowed in assistant messages",
    ],
    [
      "a function call without call_id",
      { model: "m", input: [{ type: "function_call", name: "f", arguments: "{}" }] },
      "input[0].call_id: is required",
    ],
    [
      "an image in a function call output",
      {
        model: "m",
        input: [
          {
            type: "function_call_output",
            call_id: "c",
            output: [{ type: "input_image", image_url: "https://x" }],
          },
        ],
      },
      "input[0].output[0].type: only input_text parts are supported in a function call output",
    ],
    [
      "a reference without id",
      { model: "m", input: [{ type: "item_reference" }] },
      "input[0].id: is required",
    ],
  ];

  for (const [name, body, message] of cases) {
    it(name, () => {
      const error = refusal(body);
      expect(error.kind).toBe("bad_request");
      expect(error.message.startsWith(message)).toBe(true);
      const field = message.slice(0, message.indexOf(":"));
      expect(error.details).toEqual({ kind: "bad_request", field });
    });
  }

  it("a body that is not an object", () => {
    expect(refusal([1, 2]).message).toBe("request body must be a JSON object");
  });
});
