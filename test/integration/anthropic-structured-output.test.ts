// Structured output on Anthropic (docs/providers.md, `runtime = "anthropic"`, "Structured output"),
// end to end over real HTTP: the official openai client asks for response_format json_schema or
// json_object; a model with native structured output gets output_config.format, an older one a
// forced json_response tool whose input reaches the client as JSON content (unary and streamed),
// never as a tool call.

import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { ManualClock } from "../../src/testkit/manual-clock.js";
import { anthropicWire } from "../../src/testkit/mock-anthropic-wire.js";
import { complete, type MockProvider, startMockProvider } from "../../src/testkit/mock-provider.js";

const schema = {
  type: "object",
  properties: { city: { type: "string" }, celsius: { type: "number" } },
  required: ["city", "celsius"],
  additionalProperties: false,
};
const weatherFormat = {
  type: "json_schema" as const,
  json_schema: { name: "weather", schema, strict: true },
};

/** The content fits `schema`: an object with exactly a string city and a number celsius. */
function fitsSchema(content: string | null | undefined): boolean {
  const value = JSON.parse(content ?? "null") as unknown;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return (
    Object.keys(record).sort().join(",") === "celsius,city" &&
    typeof record.city === "string" &&
    typeof record.celsius === "number"
  );
}

let mock: MockProvider;
let system: InferenceSystem;
let gateway: ListeningGateway;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockProvider({ wires: [anthropicWire] });
  const runtime_config = { api_key: "sk-ant-test", base_url: mock.url, retry: { max_retries: 0 } };
  system = await createInferenceSystem({
    clock: new ManualClock(),
    deployments: [
      { name: "native", model: "claude-sonnet-5", runtime: "anthropic", runtime_config },
      { name: "older", model: "claude-3-5-haiku", runtime: "anthropic", runtime_config },
    ],
  });
  gateway = await system.listen({ bind: "127.0.0.1:0" });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client", maxRetries: 0 });
});

afterAll(async () => {
  await system.close({ drainTimeoutMs: 0 });
  await mock.close();
});

beforeEach(() => mock.reset());

const lastBody = () => mock.requests[mock.requests.length - 1]?.body as Record<string, unknown>;
const ask = (model: string, response_format: OpenAI.ChatCompletionCreateParams["response_format"]) =>
  client.chat.completions.create({
    model,
    messages: [{ role: "user", content: "The weather in Oslo as JSON" }],
    response_format,
  });

/** What a forced json_response tool call looks like on the wire, its input in pieces. */
const forcedToolAnswer = () =>
  complete({
    content: [],
    toolCalls: [{ id: "toolu_01", name: "json_response", arguments: ['{"city":"Os', 'lo","celsius":3}'] }],
  });

describe("structured output on Anthropic", () => {
  it("json_schema on a model with native structured output: output_config.format, JSON content that fits", async () => {
    mock.script(complete({ content: ['{"city":"Oslo",', '"celsius":3}'] }));
    const answer = await ask("native", weatherFormat);
    expect(fitsSchema(answer.choices[0]?.message.content)).toBe(true);
    expect(answer.choices[0]?.finish_reason).toBe("stop");
    const body = lastBody();
    expect(body.output_config).toEqual({ format: { type: "json_schema", schema } });
    expect(body.tools).toBeUndefined();
  });

  it("json_schema on an older model: a forced json_response tool whose input is the content", async () => {
    mock.script(forcedToolAnswer());
    const answer = await ask("older", weatherFormat);
    const message = answer.choices[0]?.message;
    expect(message?.content).toBe('{"city":"Oslo","celsius":3}');
    expect(fitsSchema(message?.content)).toBe(true);
    expect(message?.tool_calls).toBeUndefined();
    expect(answer.choices[0]?.finish_reason).toBe("stop");
    const body = lastBody();
    expect(body.tools).toEqual([expect.objectContaining({ name: "json_response", input_schema: schema })]);
    expect(body.tool_choice).toEqual({
      type: "tool",
      name: "json_response",
      disable_parallel_tool_use: true,
    });
    expect(body.output_config).toBeUndefined();
  });

  it("json_object takes the forced tool with an object schema, even on a native model", async () => {
    mock.script(forcedToolAnswer());
    const answer = await ask("native", { type: "json_object" });
    expect(JSON.parse(answer.choices[0]?.message.content ?? "")).toEqual({ city: "Oslo", celsius: 3 });
    const body = lastBody();
    expect(body.tools).toEqual([
      expect.objectContaining({ name: "json_response", input_schema: { type: "object" } }),
    ]);
    expect(body.tool_choice).toEqual({
      type: "tool",
      name: "json_response",
      disable_parallel_tool_use: true,
    });
  });

  it("streamed, the forced tool's input arrives as content deltas, then finish_reason stop", async () => {
    mock.script(forcedToolAnswer());
    const stream = await client.chat.completions.create({
      model: "older",
      messages: [{ role: "user", content: "The weather in Oslo as JSON" }],
      response_format: weatherFormat,
      stream: true,
    });
    const pieces: string[] = [];
    let finish: string | null | undefined;
    let sawToolCall = false;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) pieces.push(choice.delta.content);
      if (choice?.delta.tool_calls) sawToolCall = true;
      if (choice?.finish_reason) finish = choice.finish_reason;
    }
    expect(pieces).toEqual(['{"city":"Os', 'lo","celsius":3}']);
    expect(fitsSchema(pieces.join(""))).toBe(true);
    expect(sawToolCall).toBe(false);
    expect(finish).toBe("stop");
  });

  it("a forced-tool format beside the client's own tools is refused, naming response_format", async () => {
    const failure = await client.chat.completions
      .create({
        model: "older",
        messages: [{ role: "user", content: "hi" }],
        response_format: weatherFormat,
        tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      })
      .then(
        () => undefined,
        (error: unknown) => error as { status?: number; code?: string; message?: string },
      );
    expect(failure?.status).toBe(400);
    expect(failure?.code).toBe("bad_request");
    expect(failure?.message).toContain("response_format");
    expect(mock.arrivals).toBe(0);
  });
});
