import { describe, expect, it } from "vitest";
import type { CompletionResult } from "../../../core/dialect.js";
import { errors } from "../../../core/inference-error.js";
import { openAiChatDialect, openAiCompletionsDialect } from "./openai-dialects.js";

const context = { requestId: "r1", model: "claude", nowMs: 1_700_000_000_999 };

/** The JSON payloads of framed `data:` events ("[DONE]" kept as the string). */
function payloads(framed: string): unknown[] {
  expect(framed.endsWith("\n\n")).toBe(true);
  return framed
    .split("\n\n")
    .filter((event) => event !== "")
    .map((event) => {
      expect(event.startsWith("data: ")).toBe(true);
      const data = event.slice("data: ".length);
      return data === "[DONE]" ? data : JSON.parse(data);
    });
}

const thinking = { type: "thinking", thinking: "Oslo first.", signature: "EqQBCgIYAhIM" } as const;
const redacted = { type: "redacted_thinking", data: "EmwKAhgBEgy3" } as const;

describe("OpenAI dialects: SSE framing", () => {
  it("chat: the role delta first, chunks as data events, finish + usage + [DONE] last", () => {
    const encoder = openAiChatDialect.streamEncoder(context, { includeUsage: true });
    expect(payloads(encoder.start())).toMatchObject([{ choices: [{ delta: { role: "assistant" } }] }]);
    expect(payloads(encoder.chunk({ text: "Hi" }) ?? "")).toMatchObject([
      { object: "chat.completion.chunk", choices: [{ delta: { content: "Hi" } }], usage: null },
    ]);
    expect(encoder.chunk({ text: "" })).toBeUndefined();
    const end = payloads(encoder.finish("stop", { inputTokens: 3, outputTokens: 1 }));
    expect(end).toMatchObject([
      { choices: [{ delta: {}, finish_reason: "stop" }] },
      { choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } },
      "[DONE]",
    ]);
  });

  it("chat without include_usage: no usage event before [DONE]", () => {
    const end = payloads(
      openAiChatDialect.streamEncoder(context, { includeUsage: false }).finish("length", undefined),
    );
    expect(end).toHaveLength(2);
    expect(end[1]).toBe("[DONE]");
  });

  it("a failure after commit is the error body as the last event, never [DONE]", () => {
    const encoder = openAiChatDialect.streamEncoder(context, { includeUsage: false });
    const last = encoder.fail(errors.serverError("upstream 500: boom", 500), 502);
    expect(payloads(last)).toEqual([
      { error: { message: "upstream 500: boom", type: "upstream_error", code: "server_error" } },
    ]);
  });

  it("legacy completions: no opening event, text chunks, finish then [DONE]", () => {
    const encoder = openAiCompletionsDialect.streamEncoder(context, { includeUsage: false });
    expect(encoder.start()).toBe("");
    expect(payloads(encoder.chunk({ text: "x" }) ?? "")).toMatchObject([
      { object: "text_completion", choices: [{ text: "x" }] },
    ]);
    expect(payloads(encoder.finish("stop", undefined))).toMatchObject([
      { choices: [{ text: "", finish_reason: "stop" }] },
      "[DONE]",
    ]);
  });

  it("error bodies name the kind's type and our error kind as code", () => {
    expect(openAiCompletionsDialect.errorBody(errors.rateLimited("slow down", 1000), 429)).toEqual({
      error: { message: "slow down", type: "rate_limit_error", code: "rate_limited" },
    });
  });
});

describe("OpenAI chat dialect: signed reasoning and tool-call signatures", () => {
  it("streams signed blocks as delta.thinking_blocks and a call's signature as extra_content.google", () => {
    const encoder = openAiChatDialect.streamEncoder(context, { includeUsage: false });
    expect(payloads(encoder.chunk({ text: "", reasoningBlocks: [thinking, redacted] }) ?? "")).toMatchObject([
      { choices: [{ delta: { thinking_blocks: [thinking, redacted] } }] },
    ]);
    const [call] = payloads(
      encoder.chunk({
        text: "",
        toolCalls: [
          {
            index: 0,
            id: "call_1",
            type: "function",
            function: { name: "f", arguments: "" },
            signature: "c2ln",
          },
        ],
      }) ?? "",
    ) as Array<{ choices: Array<{ delta: { tool_calls: unknown[] } }> }>;
    expect(call?.choices[0]?.delta.tool_calls).toEqual([
      {
        index: 0,
        id: "call_1",
        type: "function",
        function: { name: "f", arguments: "" },
        extra_content: { google: { thought_signature: "c2ln" } },
      },
    ]);
  });

  it("puts them on the unary message, so an SDK loop that pushes the message sends them back", () => {
    const result: CompletionResult = {
      requestId: "r1",
      deployment: "claude",
      text: "",
      reasoning: "Oslo first.",
      reasoningBlocks: [thinking],
      toolCalls: [
        {
          id: "call_1",
          type: "function",
          function: { name: "weather", arguments: '{"city":"Oslo"}' },
          signature: "c2ln",
        },
      ],
      finishReason: "tool_calls",
      usage: { inputTokens: 10, outputTokens: 5 },
    };
    const body = openAiChatDialect.unaryBody(result, context) as unknown as {
      choices: Array<{ message: Record<string, unknown> }>;
    };
    const message = body.choices[0]?.message;
    expect(message).toMatchObject({
      role: "assistant",
      content: null,
      reasoning_content: "Oslo first.",
      thinking_blocks: [thinking],
      tool_calls: [
        {
          id: "call_1",
          type: "function",
          function: { name: "weather", arguments: '{"city":"Oslo"}' },
          extra_content: { google: { thought_signature: "c2ln" } },
        },
      ],
    });
    // the next request carries that message back: parsed into the same blocks and signature
    const parsed = openAiChatDialect.parse({
      model: "claude",
      messages: [
        { role: "user", content: "weather in Oslo?" },
        message,
        { role: "tool", tool_call_id: "call_1", content: '{"temp":3}' },
      ],
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.request.messages[1]).toEqual({
      role: "assistant",
      content: null,
      toolCalls: [
        {
          id: "call_1",
          type: "function",
          function: { name: "weather", arguments: '{"city":"Oslo"}' },
          signature: "c2ln",
        },
      ],
      reasoningBlocks: [thinking],
    });
  });

  it("refuses malformed thinking blocks and thinking blocks outside assistant messages, naming the field", () => {
    const bad = openAiChatDialect.parse({
      model: "m",
      messages: [{ role: "assistant", content: "x", thinking_blocks: [{ type: "thinking", thinking: "t" }] }],
    });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.error.message).toBe("messages[0].thinking_blocks[0].signature: is required");
    const misplaced = openAiChatDialect.parse({
      model: "m",
      messages: [{ role: "user", content: "x", thinking_blocks: [redacted] }],
    });
    expect(misplaced.ok).toBe(false);
    if (misplaced.ok) return;
    expect(misplaced.error.message).toBe("messages[0].thinking_blocks: only allowed for role assistant");
  });
});
