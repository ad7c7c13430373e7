// Every remote provider runs the provider contract (provider-contract.ts) against its own wire's
// mock upstream: the OpenAI family (openai, litellm, openai-compatible), Anthropic and Gemini.

import { anthropicWire } from "../../src/testkit/mock-anthropic-wire.js";
import { complete, contentFiltered, errorResponse } from "../../src/testkit/mock-behaviours.js";
import { geminiWire } from "../../src/testkit/mock-gemini-wire.js";
import { openAiWire } from "../../src/testkit/mock-openai-wire.js";
import {
  forbiddenCase,
  type ProviderFixture,
  runProviderContract,
  type SentToolResult,
} from "./provider-contract.js";

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const arrayAt = (value: unknown, key: string): unknown[] =>
  isObject(value) && Array.isArray(value[key]) ? (value[key] as unknown[]) : [];

// ── the OpenAI wire ───────────────────────────────────────────────────────────────────────────

function openAiToolResult(body: unknown): SentToolResult | undefined {
  const tool = arrayAt(body, "messages")
    .filter(isObject)
    .filter((message) => message.role === "tool")
    .pop();
  if (tool === undefined) return undefined;
  return { callId: String(tool.tool_call_id), output: String(tool.content) };
}

function openAiImage(body: unknown) {
  for (const message of arrayAt(body, "messages").filter(isObject)) {
    for (const part of arrayAt(message, "content").filter(isObject)) {
      if (part.type !== "image_url" || !isObject(part.image_url)) continue;
      const match = /^data:([^;]+);base64,(.*)$/.exec(String(part.image_url.url));
      if (match) return { mediaType: match[1] as string, data: match[2] as string };
    }
  }
  return undefined;
}

function openAiSignatures(body: unknown): string[] {
  const signatures: string[] = [];
  for (const message of arrayAt(body, "messages").filter(isObject)) {
    for (const block of arrayAt(message, "thinking_blocks").filter(isObject))
      if (typeof block.signature === "string") signatures.push(block.signature);
    for (const call of arrayAt(message, "tool_calls").filter(isObject)) {
      const extra = call.extra_content;
      if (isObject(extra) && isObject(extra.google) && typeof extra.google.thought_signature === "string")
        signatures.push(extra.google.thought_signature);
    }
  }
  return signatures;
}

const openAiFamily = {
  wires: [openAiWire],
  reports: {
    reasoningText: true,
    signedBlocks: false,
    callSignatures: false,
    upstreamToolIds: true,
    reasoningTokens: true,
  },
  toolResultSent: openAiToolResult,
  imageSent: openAiImage,
  signaturesSent: openAiSignatures,
  nativeStopReasons: [],
  extraErrors: [
    forbiddenCase,
    {
      label: "an exhausted account quota",
      behaviour: errorResponse(429, { kind: "quota_exhausted", message: "You exceeded your current quota" }),
      status: 429,
      code: "budget_exceeded",
    },
    { label: "a content filter", behaviour: contentFiltered(), status: 400, code: "content_filtered" },
  ],
} satisfies Partial<ProviderFixture>;

// ── Anthropic ─────────────────────────────────────────────────────────────────────────────────

const anthropicBlocks = (body: unknown): Json[] =>
  arrayAt(body, "messages")
    .filter(isObject)
    .flatMap((message) => arrayAt(message, "content").filter(isObject));

const anthropic: ProviderFixture = {
  name: "anthropic",
  runtime: "anthropic",
  model: "claude-sonnet-5",
  wires: [anthropicWire],
  runtimeConfig: (url) => ({ api_key: "sk-ant-test", base_url: url }),
  reports: {
    reasoningText: true,
    signedBlocks: true,
    callSignatures: false,
    upstreamToolIds: true,
    reasoningTokens: false,
  },
  toolResultSent(body) {
    const result = anthropicBlocks(body)
      .filter((block) => block.type === "tool_result")
      .pop();
    if (result === undefined) return undefined;
    const content = result.content;
    const text = Array.isArray(content)
      ? content
          .filter(isObject)
          .map((part) => String(part.text ?? ""))
          .join("")
      : String(content);
    return { callId: String(result.tool_use_id), output: text };
  },
  imageSent(body) {
    const image = anthropicBlocks(body)
      .filter((block) => block.type === "image")
      .pop();
    const source = image?.source;
    if (!isObject(source) || source.type !== "base64") return undefined;
    return { mediaType: String(source.media_type), data: String(source.data) };
  },
  signaturesSent: (body) =>
    anthropicBlocks(body)
      .filter((block) => block.type === "thinking" && typeof block.signature === "string")
      .map((block) => block.signature as string),
  nativeStopReasons: [
    ["stop_sequence", "stop"],
    ["pause_turn", "stop"],
    ["refusal", "content_filter"],
    ["model_context_window_exceeded", "length"],
  ],
  extraErrors: [
    forbiddenCase,
    {
      label: "a billing error (the account is out of credit)",
      behaviour: errorResponse(429, { kind: "quota_exhausted", message: "Your credit balance is too low" }),
      status: 429,
      code: "budget_exceeded",
    },
    {
      label: "a request over the upstream's size limit",
      behaviour: errorResponse(413, {
        kind: "request_too_large",
        message: "Request exceeds the maximum size",
      }),
      status: 400,
      code: "bad_request",
    },
  ],
};

// ── Gemini ────────────────────────────────────────────────────────────────────────────────────

const geminiParts = (body: unknown): Json[] =>
  arrayAt(body, "contents")
    .filter(isObject)
    .flatMap((content) => arrayAt(content, "parts").filter(isObject));

const gemini: ProviderFixture = {
  name: "gemini",
  runtime: "gemini",
  model: "gemini-2.5-flash",
  wires: [geminiWire],
  runtimeConfig: (url) => ({ api_key: "gemini-test-key", base_url: url }),
  reports: {
    reasoningText: true,
    signedBlocks: false,
    callSignatures: true,
    upstreamToolIds: false,
    reasoningTokens: true,
  },
  toolResultSent(body) {
    const response = geminiParts(body)
      .map((part) => part.functionResponse)
      .filter(isObject)
      .pop();
    if (response === undefined) return undefined;
    return { name: String(response.name), output: JSON.stringify(response.response) };
  },
  imageSent(body) {
    const inline = geminiParts(body)
      .map((part) => part.inlineData)
      .filter(isObject)
      .pop();
    return inline === undefined
      ? undefined
      : { mediaType: String(inline.mimeType), data: String(inline.data) };
  },
  signaturesSent: (body) =>
    geminiParts(body)
      .map((part) => part.thoughtSignature)
      .filter((signature): signature is string => typeof signature === "string"),
  nativeStopReasons: [
    ["RECITATION", "content_filter"],
    ["BLOCKLIST", "content_filter"],
    ["PROHIBITED_CONTENT", "content_filter"],
    ["SPII", "content_filter"],
    ["OTHER", "stop"],
  ],
  extraErrors: [
    {
      // Gemini answers a key without access as PERMISSION_DENIED: the key is re-read once
      ...forbiddenCase,
      status: 502,
      code: "upstream_unauthorized",
      upstreamRequests: 2,
    },
    {
      label: "a blocked prompt (promptFeedback.blockReason)",
      behaviour: complete({ blockReason: "SAFETY" }),
      status: 400,
      code: "content_filtered",
    },
  ],
};

const fixtures: ProviderFixture[] = [
  {
    ...openAiFamily,
    name: "openai",
    runtime: "openai",
    model: "gpt-4o",
    runtimeConfig: (url) => ({ api_key: "sk-test", base_url: `${url}/v1` }),
  },
  {
    ...openAiFamily,
    name: "litellm",
    runtime: "litellm",
    model: "claude-via-proxy",
    runtimeConfig: (url) => ({ api_key: "sk-proxy", base_url: `${url}/v1` }),
  },
  {
    ...openAiFamily,
    name: "openai-compatible",
    runtime: "openai-compatible",
    model: "served-model",
    runtimeConfig: (url) => ({ base_url: `${url}/v1` }),
  },
  anthropic,
  gemini,
];

for (const fixture of fixtures) runProviderContract(fixture);
