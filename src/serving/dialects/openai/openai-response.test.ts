import { describe, expect, it } from "vitest";
import type { CompletionResult } from "../../../core/dialect.js";
import {
  chatChunkEncoder,
  chatCompletionJson,
  textCompletionChunkEncoder,
  textCompletionJson,
  usageJson,
} from "./openai-response.js";

const context = { requestId: "r1", model: "tiny", nowMs: 1_700_000_000_999 };

const result: CompletionResult = {
  requestId: "r1",
  deployment: "tiny-fallback",
  text: "hello there",
  toolCalls: [],
  finishReason: "stop",
  usage: { inputTokens: 5, outputTokens: 2 },
};

describe("unary bodies", () => {
  it("builds a chat.completion", () => {
    expect(chatCompletionJson(result, context)).toEqual({
      id: "chatcmpl-r1",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "tiny",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "hello there", refusal: null },
          logprobs: null,
          finish_reason: "stop",
        },
      ],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    });
  });

  it("puts tool calls on the message with null content when there is no text", () => {
    const toolCalls = [{ id: "c1", type: "function" as const, function: { name: "f", arguments: "{}" } }];
    const json = chatCompletionJson({ ...result, text: "", toolCalls, finishReason: "tool_calls" }, context);
    expect(json.choices[0]?.message).toEqual({
      role: "assistant",
      content: null,
      refusal: null,
      tool_calls: toolCalls,
    });
  });

  it("puts a refusal on the message, with null content when there is no text", () => {
    const json = chatCompletionJson({ ...result, text: "", refusal: "I can't help with that." }, context);
    expect(json.choices[0]?.message).toEqual({
      role: "assistant",
      content: null,
      refusal: "I can't help with that.",
    });
  });

  it("keeps text beside a refusal; an empty refusal is null", () => {
    expect(chatCompletionJson({ ...result, refusal: "No." }, context).choices[0]?.message).toEqual({
      role: "assistant",
      content: "hello there",
      refusal: "No.",
    });
    expect(chatCompletionJson({ ...result, refusal: "" }, context).choices[0]?.message.refusal).toBeNull();
  });

  it("a text_completion has no refusal field: the refusal is its text", () => {
    expect(textCompletionJson({ ...result, text: "", refusal: "No." }, context).choices[0]?.text).toBe("No.");
  });

  it("builds a text_completion", () => {
    expect(textCompletionJson({ ...result, finishReason: "length" }, context)).toEqual({
      id: "cmpl-r1",
      object: "text_completion",
      created: 1_700_000_000,
      model: "tiny",
      choices: [{ text: "hello there", index: 0, logprobs: null, finish_reason: "length" }],
      usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
    });
  });

  it("reports reasoning and cached tokens when known", () => {
    expect(usageJson({ inputTokens: 10, outputTokens: 4, reasoningTokens: 3, cachedInputTokens: 6 })).toEqual(
      {
        prompt_tokens: 10,
        completion_tokens: 4,
        total_tokens: 14,
        completion_tokens_details: { reasoning_tokens: 3 },
        prompt_tokens_details: { cached_tokens: 6 },
      },
    );
  });
});

describe("chat chunk encoder", () => {
  const encoder = chatChunkEncoder({ ...context, includeUsage: true });
  const parse = (payload: string | undefined): unknown => JSON.parse(payload ?? "null");
  const head = { id: "chatcmpl-r1", object: "chat.completion.chunk", created: 1_700_000_000, model: "tiny" };

  it("opens with the assistant role", () => {
    expect(parse(encoder.start())).toEqual({
      ...head,
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }],
      usage: null,
    });
  });

  it("encodes text deltas, escaping what JSON needs", () => {
    expect(parse(encoder.delta({ text: 'say "hi"\n' }))).toEqual({
      ...head,
      choices: [{ index: 0, delta: { content: 'say "hi"\n' }, logprobs: null, finish_reason: null }],
      usage: null,
    });
  });

  it("skips chunks with neither text nor tool calls", () => {
    expect(encoder.delta({ text: "", usage: { inputTokens: 1, outputTokens: 1 } })).toBeUndefined();
  });

  it("encodes tool-call deltas", () => {
    const toolCalls = [
      { index: 0, id: "c1", type: "function" as const, function: { name: "f", arguments: "" } },
    ];
    expect(parse(encoder.delta({ text: "", toolCalls }))).toEqual({
      ...head,
      choices: [{ index: 0, delta: { tool_calls: toolCalls }, logprobs: null, finish_reason: null }],
      usage: null,
    });
  });

  it("encodes refusal deltas as delta.refusal", () => {
    expect(parse(encoder.delta({ text: "", refusal: "I can't" }))).toEqual({
      ...head,
      choices: [{ index: 0, delta: { refusal: "I can't" }, logprobs: null, finish_reason: null }],
      usage: null,
    });
    expect(parse(encoder.delta({ text: "Hm. ", refusal: "No." }))).toEqual({
      ...head,
      choices: [
        { index: 0, delta: { content: "Hm. ", refusal: "No." }, logprobs: null, finish_reason: null },
      ],
      usage: null,
    });
  });

  it("encodes reasoning deltas as delta.reasoning_content, never inside content", () => {
    expect(parse(encoder.delta({ text: "", reasoning: "The user wants" }))).toEqual({
      ...head,
      choices: [
        { index: 0, delta: { reasoning_content: "The user wants" }, logprobs: null, finish_reason: null },
      ],
      usage: null,
    });
    expect(parse(encoder.delta({ text: "Hi", reasoning: " a greeting." }))).toEqual({
      ...head,
      choices: [
        {
          index: 0,
          delta: { content: "Hi", reasoning_content: " a greeting." },
          logprobs: null,
          finish_reason: null,
        },
      ],
      usage: null,
    });
  });

  it("a unary answer carries the reasoning as message.reasoning_content, and none when there was none", () => {
    const withReasoning = chatCompletionJson({ ...result, reasoning: "Two steps." }, context);
    expect(withReasoning.choices[0]?.message).toMatchObject({
      content: "hello there",
      reasoning_content: "Two steps.",
    });
    expect(chatCompletionJson(result, context).choices[0]?.message).not.toHaveProperty("reasoning_content");
    // the legacy completions format has no such field: the text stays the answer alone
    expect(textCompletionJson({ ...result, reasoning: "Two steps." }, context).choices[0]?.text).toBe(
      "hello there",
    );
  });

  it("finishes with an empty delta and then the usage chunk", () => {
    expect(parse(encoder.finish("length"))).toEqual({
      ...head,
      choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "length" }],
      usage: null,
    });
    expect(parse(encoder.usage({ inputTokens: 3, outputTokens: 4 }))).toEqual({
      ...head,
      choices: [],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
  });

  it("leaves usage out of chunks when include_usage is off", () => {
    const plain = chatChunkEncoder({ ...context, model: 'odd "name"', includeUsage: false });
    const chunk = parse(plain.delta({ text: "x" })) as Record<string, unknown>;
    expect(chunk.usage).toBeUndefined();
    expect(chunk.model).toBe('odd "name"');
  });
});

describe("text completion chunk encoder", () => {
  const encoder = textCompletionChunkEncoder({ ...context, includeUsage: false });
  const head = { id: "cmpl-r1", object: "text_completion", created: 1_700_000_000, model: "tiny" };

  it("has no opening chunk and encodes text and finish", () => {
    expect(encoder.start()).toBeUndefined();
    expect(JSON.parse(encoder.delta({ text: "hi" }) ?? "")).toEqual({
      ...head,
      choices: [{ text: "hi", index: 0, logprobs: null, finish_reason: null }],
    });
    expect(JSON.parse(encoder.finish("stop"))).toEqual({
      ...head,
      choices: [{ text: "", index: 0, logprobs: null, finish_reason: "stop" }],
    });
    expect(JSON.parse(encoder.delta({ text: "", refusal: "No." }) ?? "")).toEqual({
      ...head,
      choices: [{ text: "No.", index: 0, logprobs: null, finish_reason: null }],
    });
    expect(JSON.parse(encoder.usage(undefined))).toEqual({
      ...head,
      choices: [],
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    });
  });
});
