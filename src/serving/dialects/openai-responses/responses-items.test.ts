// Conversation items as neutral messages: assistant turns gathered from text, calls and signed
// reasoning; the reasoning envelope's round trip, and envelopes the gateway did not write dropped.

import { describe, expect, it } from "vitest";
import type { ToolCall } from "../../../core/batch.js";
import { type ConversationItem, decodeEnvelope, encodeEnvelope, itemsToMessages } from "./responses-items.js";

const call = (id: string, name = "look"): ToolCall => ({
  id,
  type: "function",
  function: { name, arguments: '{"q":1}' },
});

describe("itemsToMessages", () => {
  it("user, system and developer messages pass through in order", () => {
    const items: ConversationItem[] = [
      { kind: "message", message: { role: "developer", content: "rules" } },
      { kind: "message", message: { role: "user", content: [{ type: "text", text: "hi" }] } },
    ];
    expect(itemsToMessages(items)).toEqual([
      { role: "developer", content: "rules" },
      { role: "user", content: [{ type: "text", text: "hi" }] },
    ]);
  });

  it("an assistant turn gathers its text, calls and reasoning; a tool output follows it", () => {
    const envelope = {
      blocks: [{ type: "thinking" as const, thinking: "think", signature: "s1" }],
      signatures: { call_2: "gemini-sig" },
    };
    const items: ConversationItem[] = [
      { kind: "message", message: { role: "user", content: "go" } },
      { kind: "reasoning", envelope },
      { kind: "assistant", text: "Let me look." },
      { kind: "function_call", call: call("call_1") },
      { kind: "function_call", call: call("call_2", "zoom") },
      { kind: "function_call_output", callId: "call_1", output: "a cat" },
      { kind: "function_call_output", callId: "call_2", output: "closer" },
      { kind: "assistant", text: "A cat." },
    ];
    expect(itemsToMessages(items)).toEqual([
      { role: "user", content: "go" },
      {
        role: "assistant",
        content: "Let me look.",
        toolCalls: [call("call_1"), { ...call("call_2", "zoom"), signature: "gemini-sig" }],
        reasoningBlocks: envelope.blocks,
      },
      { role: "tool", toolCallId: "call_1", content: "a cat" },
      { role: "tool", toolCallId: "call_2", content: "closer" },
      { role: "assistant", content: "A cat." },
    ]);
  });

  it("a turn of calls only has null content; consecutive assistant texts are joined by newlines", () => {
    expect(
      itemsToMessages([
        { kind: "function_call", call: call("c") },
        { kind: "function_call_output", callId: "c", output: "x" },
        { kind: "assistant", text: "one" },
        { kind: "assistant", text: "" },
        { kind: "assistant", text: "two" },
      ]),
    ).toEqual([
      { role: "assistant", content: null, toolCalls: [call("c")] },
      { role: "tool", toolCallId: "c", content: "x" },
      { role: "assistant", content: "one\ntwo" },
    ]);
  });

  it("reasoning that cannot be replayed is dropped, and a turn of reasoning alone with it", () => {
    expect(
      itemsToMessages([
        { kind: "message", message: { role: "user", content: "a" } },
        { kind: "reasoning", envelope: undefined },
        { kind: "assistant", text: "b" },
        {
          kind: "reasoning",
          envelope: { blocks: [{ type: "redacted_thinking", data: "x" }], signatures: {} },
        },
        { kind: "message", message: { role: "user", content: "c" } },
      ]),
    ).toEqual([
      { role: "user", content: "a" },
      { role: "assistant", content: "b", reasoningBlocks: [{ type: "redacted_thinking", data: "x" }] },
      { role: "user", content: "c" },
    ]);
    expect(itemsToMessages([{ kind: "reasoning", envelope: { blocks: [], signatures: {} } }])).toEqual([]);
  });

  it("a call's own signature wins over the envelope's", () => {
    expect(
      itemsToMessages([
        { kind: "reasoning", envelope: { blocks: [], signatures: { c: "from-envelope" } } },
        { kind: "function_call", call: { ...call("c"), signature: "own" } },
      ]),
    ).toEqual([{ role: "assistant", content: null, toolCalls: [{ ...call("c"), signature: "own" }] }]);
  });
});

describe("the reasoning envelope", () => {
  it("round-trips blocks and signatures, unicode included", () => {
    const envelope = {
      blocks: [
        { type: "thinking" as const, thinking: "naïve ✓ \n thoughts", signature: "EqQBCkYIARgCKkA=" },
        { type: "redacted_thinking" as const, data: "opaque" },
      ],
      signatures: { call_1: "CiQB" },
    };
    const encoded = encodeEnvelope(envelope);
    expect(encoded).toMatch(/^rakka\.r1\.[A-Za-z0-9_-]+$/);
    expect(decodeEnvelope(encoded)).toEqual(envelope);
  });

  it("anything the gateway did not write decodes to undefined", () => {
    const bad = (json: string) => `rakka.r1.${Buffer.from(json).toString("base64url")}`;
    for (const text of [
      "gAAAAABoOpenAIencrypted",
      "rakka.r1.not base64!",
      bad("not json"),
      bad('{"b":[],"s":{},"extra":1}'),
      bad('{"b":[{"type":"thinking","thinking":"t","signature":""}],"s":{}}'),
      bad('{"b":[{"type":"tool_use"}],"s":{}}'),
      bad('{"b":[],"s":{"c":3}}'),
    ]) {
      expect(decodeEnvelope(text)).toBeUndefined();
    }
  });
});
