// ExecuteBatch → Gemini GenerateContentRequest: system instruction, roles and merged turns, images,
// tool calls with their thought signatures, tool results, tools and tool choice, sampling,
// response formats, reasoning_effort → thinkingConfig, and the 400s naming the OpenAI field.

import { describe, expect, it } from "vitest";
import type { ExecuteBatch, Message } from "../../../core/batch.js";
import { InferenceError } from "../../../core/inference-error.js";
import type { ReasoningEffort, RequestFeatures } from "../../../core/request-features.js";
import {
  convertToGeminiRequest,
  geminiThinkingConfig,
  imageMimeTypeOf,
} from "./convert-to-gemini-request.js";
import { toolCallIdWithSignature } from "./gemini-tool-call-id.js";

function batchOf(
  messages: readonly Message[],
  extra: { sampling?: ExecuteBatch["sampling"]; features?: RequestFeatures } = {},
): ExecuteBatch {
  return {
    requestId: "r-1",
    model: "gemini-2.5-flash",
    messages,
    sampling: extra.sampling ?? {},
    stream: true,
    priority: 0,
    estimatedTokens: 10,
    features: extra.features ?? {},
    signal: new AbortController().signal,
  };
}

const convert = (batch: ExecuteBatch, model = "gemini-2.5-flash") => convertToGeminiRequest(batch, model);

function refusal(fn: () => unknown): InferenceError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InferenceError);
    return error as InferenceError;
  }
  throw new Error("expected a 400");
}

const call = (id: string, name: string, args: string, signature?: string) => ({
  id,
  type: "function" as const,
  function: { name, arguments: args },
  ...(signature === undefined ? {} : { signature }),
});

describe("convertToGeminiRequest: messages", () => {
  it("system and developer messages become the systemInstruction; user/assistant become user/model", () => {
    const request = convert(
      batchOf([
        { role: "system", content: "Be brief." },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Salut" },
        { role: "user", content: "Bye" },
      ]),
    );
    expect(request).toEqual({
      systemInstruction: { parts: [{ text: "Be brief." }, { text: "Answer in French." }] },
      contents: [
        { role: "user", parts: [{ text: "Hi" }] },
        { role: "model", parts: [{ text: "Salut" }] },
        { role: "user", parts: [{ text: "Bye" }] },
      ],
    });
  });

  it("merges consecutive turns of the same role and skips empty content", () => {
    const request = convert(
      batchOf([
        { role: "user", content: "one" },
        { role: "user", content: [{ type: "text", text: "two" }] },
        { role: "assistant", content: "" },
        { role: "user", content: "three" },
      ]),
    );
    expect(request.contents).toEqual([
      { role: "user", parts: [{ text: "one" }, { text: "two" }, { text: "three" }] },
    ]);
  });

  it("refuses a conversation with nothing but system messages, naming messages", () => {
    const error = refusal(() => convert(batchOf([{ role: "system", content: "x" }])));
    expect(error.details).toEqual({ kind: "bad_request", field: "messages" });
  });

  it("sends base64 images inline and URLs as fileData with a media type guessed from the extension", () => {
    const request = convert(
      batchOf([
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" } },
            {
              type: "image",
              source: { kind: "url", url: "https://img.test/a/cat.WEBP?size=2" },
              detail: "high",
            },
            { type: "image", source: { kind: "url", url: "https://img.test/picture" } },
          ],
        },
      ]),
    );
    expect(request.contents[0]?.parts).toEqual([
      { text: "What is this?" },
      { inlineData: { mimeType: "image/png", data: "iVBORw0KGgo=" } },
      { fileData: { mimeType: "image/webp", fileUri: "https://img.test/a/cat.WEBP?size=2" } },
      { fileData: { mimeType: "image/jpeg", fileUri: "https://img.test/picture" } },
    ]);
  });

  it("guesses image types from URL extensions, image/jpeg when unknown", () => {
    expect(imageMimeTypeOf("https://x.test/a.png")).toBe("image/png");
    expect(imageMimeTypeOf("https://x.test/a.jpg")).toBe("image/jpeg");
    expect(imageMimeTypeOf("https://x.test/a.gif#frag")).toBe("image/gif");
    expect(imageMimeTypeOf("https://x.test/a.heic")).toBe("image/heic");
    expect(imageMimeTypeOf("https://x.test/a.svg")).toBe("image/jpeg");
    expect(imageMimeTypeOf("not a url.png")).toBe("image/png");
    // an extension that names an Object.prototype key is unknown, not a function
    expect(imageMimeTypeOf("https://x.test/a.constructor")).toBe("image/jpeg");
  });
});

describe("convertToGeminiRequest: tool calls and results", () => {
  it("sends calls as functionCall parts with their signature, and results as functionResponse parts", () => {
    const request = convert(
      batchOf([
        { role: "user", content: "Weather in Paris and Oslo?" },
        {
          role: "assistant",
          content: "Looking.",
          toolCalls: [
            call("call_1", "weather", '{"city":"Paris"}', "c2lnLTE="),
            call("call_2", "weather", '{"city":"Oslo"}'),
          ],
        },
        { role: "tool", toolCallId: "call_1", content: '{"temp": 21}' },
        { role: "tool", toolCallId: "call_2", content: "cold" },
      ]),
    );
    expect(request.contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris and Oslo?" }] },
      {
        role: "model",
        parts: [
          { text: "Looking." },
          { functionCall: { name: "weather", args: { city: "Paris" } }, thoughtSignature: "c2lnLTE=" },
          { functionCall: { name: "weather", args: { city: "Oslo" } } },
        ],
      },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "weather", response: { temp: 21 } } },
          { functionResponse: { name: "weather", response: { result: "cold" } } },
        ],
      },
    ]);
  });

  it("recovers the signature from the call id when the client kept only the id", () => {
    const id = toolCallIdWithSignature(() => 0, "AbC+/d==");
    const request = convert(
      batchOf([
        { role: "user", content: "x" },
        { role: "assistant", content: null, toolCalls: [call(id, "f", "{}")] },
        { role: "tool", toolCallId: id, content: "ok" },
      ]),
    );
    expect(request.contents[1]).toEqual({
      role: "model",
      parts: [{ functionCall: { name: "f", args: {} }, thoughtSignature: "AbC+/d==" }],
    });
  });

  it("the call's own signature wins over the one in its id", () => {
    const id = toolCallIdWithSignature(() => 0, "b2xk");
    const request = convert(
      batchOf([
        { role: "user", content: "x" },
        { role: "assistant", content: null, toolCalls: [call(id, "f", "{}", "bmV3")] },
      ]),
    );
    expect(request.contents[1]?.parts[0]?.thoughtSignature).toBe("bmV3");
  });

  it("wraps results that are not a JSON object, and takes empty arguments as {}", () => {
    const request = convert(
      batchOf([
        { role: "user", content: "x" },
        { role: "assistant", content: null, toolCalls: [call("a", "f", ""), call("b", "g", " ")] },
        { role: "tool", toolCallId: "a", content: "[1,2]" },
        { role: "tool", toolCallId: "b", content: [{ type: "text", text: "42" }] },
      ]),
    );
    expect(request.contents[1]?.parts.map((part) => part.functionCall?.args)).toEqual([{}, {}]);
    expect(request.contents[2]?.parts).toEqual([
      { functionResponse: { name: "f", response: { result: "[1,2]" } } },
      { functionResponse: { name: "g", response: { result: "42" } } },
    ]);
  });

  it("sends a tool's error as the response's error field", () => {
    const request = convert(
      batchOf([
        { role: "user", content: "x" },
        { role: "assistant", content: null, toolCalls: [call("a", "f", "{}"), call("b", "g", "{}")] },
        { role: "tool", toolCallId: "a", content: "city missing", toolError: true },
        { role: "tool", toolCallId: "b", content: '{"code":404}', toolError: true },
      ]),
    );
    expect(request.contents[2]?.parts).toEqual([
      { functionResponse: { name: "f", response: { error: "city missing" } } },
      { functionResponse: { name: "g", response: { error: { code: 404 } } } },
    ]);
  });

  it("refuses arguments that are not a JSON object, naming the call", () => {
    for (const args of ["[1]", "not json", '"text"', "null"]) {
      const error = refusal(() =>
        convert(
          batchOf([
            { role: "user", content: "x" },
            { role: "assistant", content: null, toolCalls: [call("a", "f", "{}"), call("b", "g", args)] },
          ]),
        ),
      );
      expect(error.details).toEqual({
        kind: "bad_request",
        field: "messages[1].tool_calls[1].function.arguments",
      });
      expect(error.message).toMatch(/^messages\[1\]\.tool_calls\[1\]\.function\.arguments: /);
    }
  });

  it("refuses a tool result that answers no earlier call, naming its tool_call_id", () => {
    for (const toolCallId of ["nope", undefined]) {
      const error = refusal(() =>
        convert(
          batchOf([
            { role: "user", content: "x" },
            { role: "assistant", content: null, toolCalls: [call("a", "f", "{}")] },
            { role: "tool", content: "ok", ...(toolCallId === undefined ? {} : { toolCallId }) },
          ]),
        ),
      );
      expect(error.details).toEqual({ kind: "bad_request", field: "messages[2].tool_call_id" });
    }
  });
});

describe("convertToGeminiRequest: features and sampling", () => {
  const hi: Message[] = [{ role: "user", content: "hi" }];

  it("sends tools as functionDeclarations with their JSON Schema", () => {
    const request = convert(
      batchOf(hi, {
        features: {
          tools: [
            {
              name: "weather",
              description: "Current weather",
              parameters: { type: "object", properties: { city: { type: "string" } } },
              strict: true,
            },
            { name: "now" },
          ],
        },
      }),
    );
    expect(request.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "weather",
            description: "Current weather",
            parametersJsonSchema: { type: "object", properties: { city: { type: "string" } } },
          },
          { name: "now" },
        ],
      },
    ]);
    expect(request.toolConfig).toBeUndefined();
  });

  it.each([
    ["auto", { mode: "AUTO" }],
    ["required", { mode: "ANY" }],
    ["none", { mode: "NONE" }],
    [{ name: "weather" }, { mode: "ANY", allowedFunctionNames: ["weather"] }],
  ] as const)("tool_choice %j → functionCallingConfig %j", (choice, config) => {
    const request = convert(batchOf(hi, { features: { tools: [{ name: "weather" }], toolChoice: choice } }));
    expect(request.toolConfig).toEqual({ functionCallingConfig: config });
  });

  it("refuses parallel_tool_calls: false by name, accepts true", () => {
    const error = refusal(() => convert(batchOf(hi, { features: { parallelToolCalls: false } })));
    expect(error.details).toEqual({ kind: "bad_request", field: "parallel_tool_calls" });
    expect(convert(batchOf(hi, { features: { parallelToolCalls: true } })).contents).toHaveLength(1);
  });

  it("puts sampling in generationConfig, and leaves it out when there is none", () => {
    expect(convert(batchOf(hi)).generationConfig).toBeUndefined();
    const request = convert(
      batchOf(hi, {
        sampling: {
          maxTokens: 100,
          temperature: 0.5,
          topP: 0.9,
          topK: 40,
          stop: ["END", "STOP"],
          seed: 7,
          presencePenalty: 0.1,
          frequencyPenalty: 0.2,
        },
        features: { user: "end-user-1" },
      }),
    );
    expect(request.generationConfig).toEqual({
      maxOutputTokens: 100,
      temperature: 0.5,
      topP: 0.9,
      topK: 40,
      stopSequences: ["END", "STOP"],
      seed: 7,
      presencePenalty: 0.1,
      frequencyPenalty: 0.2,
    });
    expect(JSON.stringify(request)).not.toContain("end-user-1");
  });

  it("response_format json_object → responseMimeType; json_schema → plus responseJsonSchema; text → nothing", () => {
    expect(
      convert(batchOf(hi, { features: { responseFormat: { type: "text" } } })).generationConfig,
    ).toBeUndefined();
    expect(
      convert(batchOf(hi, { features: { responseFormat: { type: "json_object" } } })).generationConfig,
    ).toEqual({
      responseMimeType: "application/json",
    });
    const schema = { type: "object", properties: { a: { type: "integer" } }, required: ["a"] };
    expect(
      convert(
        batchOf(hi, {
          features: { responseFormat: { type: "json_schema", name: "A", schema, strict: true } },
        }),
      ).generationConfig,
    ).toEqual({ responseMimeType: "application/json", responseJsonSchema: schema });
    expect(
      convert(batchOf(hi, { features: { responseFormat: { type: "json_schema", name: "A" } } }))
        .generationConfig,
    ).toEqual({ responseMimeType: "application/json" });
  });

  it("reasoning_effort → thinkingConfig with thoughts included", () => {
    expect(
      convert(batchOf(hi, { features: { reasoningEffort: "low" } }), "gemini-3-flash-preview")
        .generationConfig,
    ).toEqual({ thinkingConfig: { includeThoughts: true, thinkingLevel: "LOW" } });
    expect(convert(batchOf(hi, { features: { reasoningEffort: "medium" } })).generationConfig).toEqual({
      thinkingConfig: { includeThoughts: true, thinkingBudget: 8192 },
    });
  });
});

describe("geminiThinkingConfig", () => {
  const efforts: ReasoningEffort[] = ["minimal", "low", "medium", "high", "xhigh", "max"];
  const table = (model: string) =>
    efforts.map((effort) => {
      const config = geminiThinkingConfig(model, effort);
      expect(config.includeThoughts).toBe(true);
      return config.thinkingLevel ?? config.thinkingBudget;
    });

  it("Gemini 3 Flash takes every level", () => {
    expect(table("gemini-3-flash-preview")).toEqual(["MINIMAL", "LOW", "MEDIUM", "HIGH", "HIGH", "HIGH"]);
  });

  it("Gemini 3 Pro has LOW and HIGH: minimal goes up to LOW, medium up to HIGH", () => {
    expect(table("gemini-3-pro-preview")).toEqual(["LOW", "LOW", "HIGH", "HIGH", "HIGH", "HIGH"]);
    expect(table("models/gemini-3-pro-preview")).toEqual(["LOW", "LOW", "HIGH", "HIGH", "HIGH", "HIGH"]);
  });

  it("later Gemini 3 Pro models add MEDIUM", () => {
    expect(table("gemini-3.1-pro-preview")).toEqual(["LOW", "LOW", "MEDIUM", "HIGH", "HIGH", "HIGH"]);
  });

  it("Gemini 2.5 models take budgets; Pro goes up to 32768, Flash to 24576", () => {
    expect(table("gemini-2.5-pro")).toEqual([512, 1024, 8192, 24_576, 32_768, 32_768]);
    expect(table("gemini-2.5-flash")).toEqual([512, 1024, 8192, 24_576, 24_576, 24_576]);
    expect(table("gemini-2.5-flash-lite")).toEqual([512, 1024, 8192, 24_576, 24_576, 24_576]);
    expect(table("gemini-flash-latest")).toEqual([512, 1024, 8192, 24_576, 24_576, 24_576]);
  });

  it('"none" is a budget of 0 where thinking can stop, else a 400 naming reasoning_effort', () => {
    expect(geminiThinkingConfig("gemini-2.5-flash", "none")).toEqual({
      includeThoughts: true,
      thinkingBudget: 0,
    });
    expect(geminiThinkingConfig("gemini-2.5-flash-lite", "none")).toEqual({
      includeThoughts: true,
      thinkingBudget: 0,
    });
    for (const model of ["gemini-2.5-pro", "gemini-3-pro-preview", "gemini-3-flash-preview"]) {
      const error = refusal(() => geminiThinkingConfig(model, "none"));
      expect(error.details).toEqual({ kind: "bad_request", field: "reasoning_effort" });
      expect(error.message).toContain(model);
    }
  });

  it("models that do not think refuse any effort", () => {
    for (const model of ["gemini-2.0-flash", "gemini-1.5-pro"]) {
      const error = refusal(() => geminiThinkingConfig(model, "high"));
      expect(error.details).toEqual({ kind: "bad_request", field: "reasoning_effort" });
    }
  });
});
