// The Responses API's conversation items as neutral messages (docs/api.md, "Responses API"): the
// items a request's `input` holds (and those of stored responses), merged into turns — an
// assistant turn gathers the assistant text, function calls and signed reasoning between two
// other items — and the reasoning envelope: how a reasoning item's `encrypted_content` carries the
// provider's signed reasoning blocks and tool-call signatures, so they survive a round trip
// through the client. A reasoning item without one (another server's) is dropped.

import { z } from "zod";
import type { Message, ReasoningBlock, ToolCall } from "../../../core/batch.js";

/** One conversation item, validated (responses-request.ts parses them). */
export type ConversationItem =
  /** A user, system or developer message. */
  | { readonly kind: "message"; readonly message: Message }
  | { readonly kind: "assistant"; readonly text: string }
  | { readonly kind: "function_call"; readonly call: ToolCall }
  /** `output` is the text of the call's result (text parts joined). */
  | { readonly kind: "function_call_output"; readonly callId: string; readonly output: string }
  /** `envelope` is undefined for a reasoning item the gateway cannot replay. */
  | { readonly kind: "reasoning"; readonly envelope: ReasoningEnvelope | undefined };

/** What a reasoning item carries for the next turn: signed blocks, and signatures by call id. */
export interface ReasoningEnvelope {
  readonly blocks: readonly ReasoningBlock[];
  /** Tool-call reasoning signatures (Gemini's `thoughtSignature`) by the call's `call_id`. */
  readonly signatures: Readonly<Record<string, string>>;
}

const ENVELOPE_PREFIX = "rakka.r1.";

const envelopeSchema = z.strictObject({
  b: z.array(
    z.discriminatedUnion("type", [
      z.strictObject({ type: z.literal("thinking"), thinking: z.string(), signature: z.string().min(1) }),
      z.strictObject({ type: z.literal("redacted_thinking"), data: z.string().min(1) }),
    ]),
  ),
  s: z.record(z.string(), z.string().min(1)),
});

/** The `encrypted_content` of a reasoning item: `rakka.r1.` and the envelope as base64url JSON. */
export function encodeEnvelope(envelope: ReasoningEnvelope): string {
  const json = JSON.stringify({ b: envelope.blocks, s: envelope.signatures });
  return `${ENVELOPE_PREFIX}${Buffer.from(json, "utf8").toString("base64url")}`;
}

/** The envelope of an `encrypted_content`, or undefined when it is not one the gateway wrote. */
export function decodeEnvelope(text: string): ReasoningEnvelope | undefined {
  if (!text.startsWith(ENVELOPE_PREFIX)) return undefined;
  const encoded = text.slice(ENVELOPE_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(encoded)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  const parsed = envelopeSchema.safeParse(value);
  if (!parsed.success) return undefined;
  return { blocks: parsed.data.b, signatures: parsed.data.s };
}

/** Whether an envelope carries anything worth a reasoning item. */
export function envelopeHasContent(envelope: ReasoningEnvelope): boolean {
  return envelope.blocks.length > 0 || Object.keys(envelope.signatures).length > 0;
}

/** The assistant turn being gathered. */
interface Turn {
  readonly texts: string[];
  readonly calls: ToolCall[];
  readonly blocks: ReasoningBlock[];
  readonly signatures: Map<string, string>;
}

/**
 * The items as messages, in order. Consecutive assistant items (text, function calls, reasoning)
 * make one assistant message: its texts joined by newlines (content null when there is none but
 * calls), its calls in order, with the signatures the turn's envelopes hold for them, and the
 * envelopes' blocks. A turn with neither text nor calls is dropped (reasoning cannot stand alone).
 */
export function itemsToMessages(items: readonly ConversationItem[]): Message[] {
  const messages: Message[] = [];
  let turn: Turn | undefined;
  const close = () => {
    if (turn === undefined) return;
    const { texts, blocks, signatures } = turn;
    const calls = turn.calls.map((call) => {
      const signature = call.signature ?? signatures.get(call.id);
      return signature === undefined ? call : { ...call, signature };
    });
    turn = undefined;
    if (texts.length === 0 && calls.length === 0) return;
    const message: { -readonly [K in keyof Message]: Message[K] } = {
      role: "assistant",
      content: texts.length > 0 ? texts.join("\n") : null,
    };
    if (calls.length > 0) message.toolCalls = calls;
    if (blocks.length > 0) message.reasoningBlocks = blocks;
    messages.push(message);
  };
  const open = (): Turn => {
    turn ??= { texts: [], calls: [], blocks: [], signatures: new Map() };
    return turn;
  };
  for (const item of items) {
    switch (item.kind) {
      case "message":
        close();
        messages.push(item.message);
        break;
      case "assistant":
        if (item.text !== "") open().texts.push(item.text);
        break;
      case "function_call":
        open().calls.push(item.call);
        break;
      case "reasoning": {
        if (item.envelope === undefined) break;
        const current = open();
        current.blocks.push(...item.envelope.blocks);
        for (const [callId, signature] of Object.entries(item.envelope.signatures))
          current.signatures.set(callId, signature);
        break;
      }
      case "function_call_output":
        close();
        messages.push({ role: "tool", toolCallId: item.callId, content: item.output });
        break;
    }
  }
  close();
  return messages;
}
