// OpenAI's Responses API as an inbound dialect (docs/api.md, "Responses API"), end to end over real
// HTTP on the manual clock with the official clients, retries off: the `openai` SDK's
// responses.create / stream / retrieve / delete, and the Vercel AI SDK's default `openai()`
// provider (generateText, streamText, an executed tool over two steps). A local mock deployment,
// a remote OpenAI one and an Anthropic one behind the testkit's mock upstream; two client keys;
// and two cluster nodes sharing the stored responses in a redis-server of the test's own.

import { createOpenAI } from "@ai-sdk/openai";
import { generateText, stepCountIs, streamText, tool } from "ai";
import OpenAI, { APIError, BadRequestError, NotFoundError } from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { Secret } from "../../src/core/secret.js";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { ManualClock } from "../../src/testkit/manual-clock.js";
import {
  complete,
  errorMidStream,
  type MockProvider,
  startMockProvider,
} from "../../src/testkit/mock-provider.js";
import { useRedis } from "../support/redis-fixture.js";

const KEY_A = "key-a";
const KEY_B = "key-b";
const SIGNATURE = "EqQBCk+gIA/RAA==";

let mock: MockProvider;
let clock: ManualClock;
let system: InferenceSystem;
let gateway: ListeningGateway;
let client: OpenAI;
let other: OpenAI;

beforeAll(async () => {
  mock = await startMockProvider();
  clock = new ManualClock();
  const remote = { retry: { max_retries: 0 }, circuit_breaker: { failure_threshold: 1000 } };
  system = await createInferenceSystem({
    clock,
    random: () => 0.5,
    server: { apiKeys: [Secret.inline(KEY_A), Secret.inline(KEY_B)], responsesTtlS: 600 },
    deployments: [
      { name: "echo", model: "echo-1", runtime: "mock" },
      {
        name: "gpt",
        model: "gpt-4o",
        runtime: "openai",
        runtime_config: { api_key: "sk-test", base_url: `${mock.url}/v1`, ...remote },
      },
      {
        name: "claude",
        model: "claude-sonnet-5",
        runtime: "anthropic",
        runtime_config: { api_key: "sk-ant-test", base_url: mock.url, ...remote },
      },
    ],
  });
  gateway = await system.listen({ bind: "127.0.0.1:0" });
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEY_A, maxRetries: 0 });
  other = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEY_B, maxRetries: 0 });
});

afterAll(async () => {
  await system.close({ drainTimeoutMs: 0 });
  await mock.close();
});

beforeEach(() => mock.reset());

/** The body of the upstream request `index` (default: the last). */
const upstreamBody = (index = mock.requests.length - 1) =>
  mock.requests[index]?.body as Record<string, unknown>;

const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  description: "the weather in a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
};

describe("the openai SDK over a local mock deployment", () => {
  it("responses.create: the echo of the input, cut by max_output_tokens as incomplete", async () => {
    const response = await client.responses.create({
      model: "echo",
      input: "one two three",
      max_output_tokens: 4,
    });
    expect(response.object).toBe("response");
    expect(response.id).toMatch(/^resp_/);
    expect(response.output_text).toBe("one two three one");
    expect(response.status).toBe("incomplete");
    expect(response.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(response.usage).toMatchObject({ input_tokens: 3, output_tokens: 4, total_tokens: 7 });
    expect(response.output[0]).toMatchObject({ type: "message", role: "assistant", status: "incomplete" });
  });

  it("responses.stream(...).finalResponse() resolves on response.incomplete", async () => {
    const stream = client.responses.stream({ model: "echo", input: "red green", max_output_tokens: 3 });
    const deltas: string[] = [];
    stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
    const response = await stream.finalResponse();
    expect(deltas.join("")).toBe("red green red");
    expect(response.output_text).toBe("red green red");
    expect(response.status).toBe("incomplete");
  });

  it("retrieve answers the stored response; delete removes it; then both are 404", async () => {
    const created = await client.responses.create({
      model: "echo",
      input: "keep me",
      max_output_tokens: 2,
      metadata: { case: "retrieve" },
    });
    const retrieved = await client.responses.retrieve(created.id);
    expect(retrieved).toEqual(created);
    expect(retrieved.metadata).toEqual({ case: "retrieve" });
    await client.responses.delete(created.id);
    const gone = await client.responses.retrieve(created.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(NotFoundError);
    expect((gone as NotFoundError).message).toContain(`response ${created.id} not found`);
    expect(await client.responses.delete(created.id).catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
  });

  it("a streamed response is stored before its last event: a retrieve right after sees it", async () => {
    const response = await client.responses
      .stream({ model: "echo", input: "fast", max_output_tokens: 1 })
      .finalResponse();
    expect((await client.responses.retrieve(response.id)).output_text).toBe("fast");
  });

  it("previous_response_id continues the conversation: the stored turn is prepended", async () => {
    const first = await client.responses.create({ model: "echo", input: "alpha beta", max_output_tokens: 3 });
    expect(first.output_text).toBe("alpha beta alpha");
    const second = await client.responses.create({
      model: "echo",
      input: "gamma",
      previous_response_id: first.id,
      max_output_tokens: 2,
    });
    // the mock counts the words of every message: 2 (first input) + 3 (its answer) + 1
    expect(second.usage?.input_tokens).toBe(6);
    expect(second.output_text).toBe("gamma gamma");
    expect(second.previous_response_id).toBe(first.id);
    const third = await client.responses.create({
      model: "echo",
      input: "delta",
      previous_response_id: second.id,
      max_output_tokens: 1,
    });
    expect(third.usage?.input_tokens).toBe(6 + 2 + 1);
  });

  it("store: false keeps nothing: retrieve is 404, and so is continuing from it", async () => {
    const response = await client.responses.create({
      model: "echo",
      input: "forget",
      store: false,
      max_output_tokens: 1,
    });
    expect((response as unknown as { store: boolean }).store).toBe(false);
    expect(await client.responses.retrieve(response.id).catch((e: unknown) => e)).toBeInstanceOf(
      NotFoundError,
    );
    const next = await client.responses
      .create({ model: "echo", input: "x", previous_response_id: response.id })
      .catch((e: unknown) => e);
    expect(next).toBeInstanceOf(NotFoundError);
  });

  it("a response lives for responses_ttl_s on the injected clock", async () => {
    const response = await client.responses.create({ model: "echo", input: "brief", max_output_tokens: 1 });
    await clock.advance(599_000);
    expect((await client.responses.retrieve(response.id)).id).toBe(response.id);
    await clock.advance(1_000);
    expect(await client.responses.retrieve(response.id).catch((e: unknown) => e)).toBeInstanceOf(
      NotFoundError,
    );
  });

  it("another key's response does not exist for it: retrieve, delete and previous_response_id are 404", async () => {
    const mine = await client.responses.create({ model: "echo", input: "private", max_output_tokens: 1 });
    const retrieve = await other.responses.retrieve(mine.id).catch((e: unknown) => e);
    expect(retrieve).toBeInstanceOf(NotFoundError);
    expect((retrieve as NotFoundError).message).toContain(`response ${mine.id} not found`);
    expect(await other.responses.delete(mine.id).catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
    const continued = await other.responses
      .create({ model: "echo", input: "x", previous_response_id: mine.id })
      .catch((e: unknown) => e);
    expect(continued).toBeInstanceOf(NotFoundError);
    expect((await client.responses.retrieve(mine.id)).id).toBe(mine.id);
  });

  it("built-in tools are refused with 400 naming the tool", async () => {
    for (const [builtIn, name] of [
      [{ type: "web_search" }, "web_search"],
      [{ type: "file_search", vector_store_ids: ["vs_1"] }, "file_search"],
      [
        { type: "computer_use_preview", display_width: 1024, display_height: 768, environment: "browser" },
        "computer_use_preview",
      ],
    ] as const) {
      const error = await client.responses
        .create({
          model: "echo",
          input: "x",
          tools: [weatherTool, builtIn as unknown as OpenAI.Responses.Tool],
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BadRequestError);
      expect((error as BadRequestError).message).toContain(
        `tools[1].type: built-in tool "${name}" is not supported`,
      );
    }
  });

  it("an unknown model is 404 and a bad field 400, in OpenAI's error body", async () => {
    expect(
      await client.responses.create({ model: "missing", input: "x" }).catch((e: unknown) => e),
    ).toBeInstanceOf(NotFoundError);
    const response = await fetch(`${gateway.url}/v1/responses`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY_A}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "echo",
        input: [{ role: "user", content: [{ type: "input_image", file_id: "f" }] }],
      }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        message:
          "input[0].content[0].file_id: file ids are not supported: send image_url (a URL or a data: URL)",
        type: "invalid_request_error",
        code: "bad_request",
      },
    });
  });
});

describe("GET and DELETE /v1/responses/{id} on the wire", () => {
  const call = (method: string, path: string, key = KEY_A) =>
    fetch(`${gateway.url}${path}`, { method, headers: { authorization: `Bearer ${key}` } });

  it("DELETE answers OpenAI's deletion object; GET shows the envelope only with include", async () => {
    mock.script(
      complete({
        reasoning: ["hmm"],
        reasoningSignature: SIGNATURE,
        content: ["ok"],
      }),
    );
    const created = await client.responses.create({ model: "claude", input: "x", max_output_tokens: 2048 });
    const plain = (await (
      await call("GET", `/v1/responses/${created.id}`)
    ).json()) as OpenAI.Responses.Response;
    expect(plain.output[0]).not.toHaveProperty("encrypted_content");
    const included = (await (
      await call("GET", `/v1/responses/${created.id}?include[]=reasoning.encrypted_content`)
    ).json()) as OpenAI.Responses.Response;
    expect((included.output[0] as OpenAI.Responses.ResponseReasoningItem).encrypted_content).toMatch(
      /^rakka\.r1\./,
    );
    const deleted = await call("DELETE", `/v1/responses/${created.id}`);
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ id: created.id, object: "response", deleted: true });
  });

  it("a replay as a stream is refused; a nested path is unknown; POST on an id is 405; no key is 401", async () => {
    const created = await client.responses.create({ model: "echo", input: "x", max_output_tokens: 1 });
    const replay = await call("GET", `/v1/responses/${created.id}?stream=true`);
    expect(replay.status).toBe(400);
    expect(((await replay.json()) as { error: { message: string } }).error.message).toContain("stream:");
    expect((await call("GET", `/v1/responses/${created.id}/input_items`)).status).toBe(404);
    expect((await call("GET", "/v1/responses/")).status).toBe(404);
    const post = await call("POST", `/v1/responses/${created.id}`);
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD, DELETE");
    expect((await fetch(`${gateway.url}/v1/responses/${created.id}`)).status).toBe(401);
  });
});

describe("the openai SDK over a remote OpenAI deployment", () => {
  it("a function-call round trip, continued with previous_response_id", async () => {
    mock.script(
      complete({
        content: [],
        toolCalls: [{ id: "call_1", name: "get_weather", arguments: ['{"city":', '"Oslo"}'] }],
      }),
      complete({ content: ["Sunny", " in Oslo"], usage: { prompt_tokens: 30, completion_tokens: 4 } }),
    );
    const first = await client.responses.create({
      model: "gpt",
      instructions: "answer briefly",
      input: "weather in Oslo?",
      tools: [weatherTool],
      tool_choice: "auto",
    });
    expect(first.status).toBe("completed");
    const call = first.output.find((item) => item.type === "function_call");
    expect(call).toMatchObject({
      type: "function_call",
      call_id: "call_1",
      name: "get_weather",
      arguments: '{"city":"Oslo"}',
      status: "completed",
    });
    expect(upstreamBody(0)).toMatchObject({
      messages: [
        { role: "system", content: "answer briefly" },
        { role: "user", content: "weather in Oslo?" },
      ],
      tools: [{ type: "function", function: { name: "get_weather", strict: false } }],
    });

    const second = await client.responses.create({
      model: "gpt",
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: "call_1", output: '{"sky":"sunny"}' }],
      tools: [weatherTool],
    });
    expect(second.output_text).toBe("Sunny in Oslo");
    expect(second.usage).toMatchObject({ input_tokens: 30, output_tokens: 4 });
    expect(upstreamBody(1).messages).toMatchObject([
      { role: "user", content: "weather in Oslo?" },
      {
        role: "assistant",
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"sky":"sunny"}' },
    ]);
  });

  it("a streamed tool call: argument deltas, then the call in finalResponse", async () => {
    mock.script(
      complete({
        content: [],
        toolCalls: [{ id: "call_s", name: "get_weather", arguments: ['{"ci', 'ty":"Rome"}'] }],
      }),
    );
    const stream = client.responses.stream({ model: "gpt", input: "weather in Rome?", tools: [weatherTool] });
    const deltas: string[] = [];
    stream.on("response.function_call_arguments.delta", (event) => deltas.push(event.delta));
    const response = await stream.finalResponse();
    expect(deltas.join("")).toBe('{"city":"Rome"}');
    expect(response.output).toMatchObject([
      { type: "function_call", call_id: "call_s", name: "get_weather", arguments: '{"city":"Rome"}' },
    ]);
  });

  it("reasoning text is a reasoning item's summary; json_schema and effort reach the upstream", async () => {
    mock.script(complete({ reasoning: ["thinking ", "hard"], content: ['{"a":1}'] }));
    const response = await client.responses.create({
      model: "gpt",
      input: "json please",
      reasoning: { effort: "low" },
      text: { format: { type: "json_schema", name: "answer", schema: { type: "object" }, strict: true } },
    });
    expect(response.output[0]).toMatchObject({
      type: "reasoning",
      summary: [{ type: "summary_text", text: "thinking hard" }],
    });
    expect(response.output_text).toBe('{"a":1}');
    expect(upstreamBody()).toMatchObject({
      reasoning_effort: "low",
      response_format: {
        type: "json_schema",
        json_schema: { name: "answer", schema: { type: "object" }, strict: true },
      },
    });
  });

  it("max_output_tokens: incomplete, unary and streamed", async () => {
    mock.script(
      complete({ content: ["cut"], finishReason: "length" }),
      complete({ content: ["cut"], finishReason: "length" }),
    );
    const unary = await client.responses.create({ model: "gpt", input: "long story", max_output_tokens: 16 });
    expect(unary.status).toBe("incomplete");
    expect(unary.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(upstreamBody(0)).toMatchObject({ max_completion_tokens: 16 });
    const streamed = await client.responses
      .stream({ model: "gpt", input: "long story", max_output_tokens: 16 })
      .finalResponse();
    expect(streamed.status).toBe("incomplete");
    expect(streamed.output_text).toBe("cut");
  });

  it("a failure after the stream committed raises an APIError, and the response is not stored", async () => {
    mock.script(errorMidStream(2, { kind: "server_error", message: "upstream broke" }));
    const stream = client.responses.stream({ model: "gpt", input: "x" });
    let id: string | undefined;
    stream.on("response.created", (event) => {
      id = event.response.id;
    });
    const error = await stream.finalResponse().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIError);
    expect((error as APIError).message).toContain("upstream broke");
    expect(id).toMatch(/^resp_/);
    expect(await client.responses.retrieve(id as string).catch((e: unknown) => e)).toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe("the openai SDK over a remote Anthropic deployment", () => {
  it("signed thinking and the tool call come back on the next turn, whole", async () => {
    mock.script(
      complete({
        reasoning: ["I should look it up"],
        reasoningSignature: SIGNATURE,
        content: [],
        toolCalls: [{ id: "toolu_1", name: "get_weather", arguments: ['{"city":"Oslo"}'] }],
      }),
      complete({ content: ["Sunny."] }),
    );
    const first = await client.responses.create({
      model: "claude",
      input: "weather?",
      tools: [weatherTool],
      max_output_tokens: 2048,
    });
    expect(first.output.map((item) => item.type)).toEqual(["reasoning", "function_call"]);
    expect("encrypted_content" in (first.output[0] as object)).toBe(false);
    const second = await client.responses.create({
      model: "claude",
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: "toolu_1", output: "sunny" }],
      tools: [weatherTool],
      max_output_tokens: 2048,
    });
    expect(second.output_text).toBe("Sunny.");
    expect((upstreamBody(1).messages as unknown[])[1]).toEqual({
      role: "assistant",
      content: [
        { type: "thinking", thinking: "I should look it up", signature: SIGNATURE },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } },
      ],
    });
  });

  it("with include, the envelope travels through a client that stores nothing", async () => {
    mock.script(
      complete({
        reasoning: ["hmm"],
        reasoningSignature: SIGNATURE,
        content: [],
        toolCalls: [{ id: "toolu_2", name: "get_weather", arguments: ['{"city":"Rome"}'] }],
      }),
      complete({ content: ["Rainy."] }),
    );
    const first = await client.responses.create({
      model: "claude",
      input: "weather?",
      tools: [weatherTool],
      store: false,
      include: ["reasoning.encrypted_content"],
      max_output_tokens: 2048,
    });
    const reasoning = first.output[0] as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.encrypted_content).toMatch(/^rakka\.r1\./);
    await client.responses.create({
      model: "claude",
      store: false,
      input: [
        { role: "user", content: "weather?" },
        ...(first.output as OpenAI.Responses.ResponseInputItem[]),
        { type: "function_call_output", call_id: "toolu_2", output: "rainy" },
      ],
      tools: [weatherTool],
      max_output_tokens: 2048,
    });
    expect(((upstreamBody(1).messages as unknown[])[1] as { content: unknown[] }).content[0]).toEqual({
      type: "thinking",
      thinking: "hmm",
      signature: SIGNATURE,
    });
  });
});

describe("in a cluster the stored responses live in Redis", () => {
  const redis = useRedis();

  it("a response created on one node is continued, read and deleted on another, by its key only", async () => {
    const prefix = redis.prefix();
    const node = (nodeId: string) =>
      createInferenceSystem({
        clock: new ManualClock(),
        server: { apiKeys: [Secret.inline(KEY_A), Secret.inline(KEY_B)] },
        cluster: {
          redisUrl: Secret.inline(redis.server.url),
          nodeId,
          nodeKey: Secret.inline("node-key"),
          keyPrefix: prefix,
          heartbeatMs: 1_000,
          nodeTimeoutMs: 3_000,
          onStoreUnavailable: "open",
          egress: true,
        },
        deployments: [{ name: "echo", model: "echo-1", runtime: "mock" }],
      });
    const nodes = [await node(`responses-a-${process.pid}`), await node(`responses-b-${process.pid}`)];
    try {
      const [a, b] = await Promise.all(nodes.map((system) => system.listen({ bind: "127.0.0.1:0" })));
      const onA = new OpenAI({ baseURL: `${a?.url}/v1`, apiKey: KEY_A, maxRetries: 0 });
      const onB = new OpenAI({ baseURL: `${b?.url}/v1`, apiKey: KEY_A, maxRetries: 0 });
      const otherOnB = new OpenAI({ baseURL: `${b?.url}/v1`, apiKey: KEY_B, maxRetries: 0 });
      const created = await onA.responses.create({
        model: "echo",
        input: "shared turn",
        max_output_tokens: 2,
      });
      expect(await redis.client.exists(`${prefix}response:${created.id}`)).toBe(1);
      expect(await onB.responses.retrieve(created.id)).toEqual(created);
      expect(await otherOnB.responses.retrieve(created.id).catch((e: unknown) => e)).toBeInstanceOf(
        NotFoundError,
      );
      const continued = await onB.responses.create({
        model: "echo",
        input: "next",
        previous_response_id: created.id,
        max_output_tokens: 1,
      });
      expect(continued.usage?.input_tokens).toBe(2 + 2 + 1);
      await onB.responses.delete(created.id);
      expect(await onA.responses.retrieve(created.id).catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
    } finally {
      await Promise.all(nodes.map((system) => system.close({ drainTimeoutMs: 0 })));
    }
  });
});

describe("the Vercel AI SDK's default openai() provider", () => {
  /** The bodies the AI SDK sent the gateway, in order. */
  const sent: Array<Record<string, unknown>> = [];
  const provider = () =>
    createOpenAI({
      baseURL: `${gateway.url}/v1`,
      apiKey: KEY_A,
      fetch: (url, init) => {
        if (typeof init?.body === "string") sent.push(JSON.parse(init.body));
        return fetch(url, init);
      },
    });

  it("generateText and streamText over the Responses API", async () => {
    mock.script(
      complete({ content: ["Hello", " there"], usage: { prompt_tokens: 3, completion_tokens: 2 } }),
      complete({ content: ["Streamed", " text"] }),
    );
    const generated = await generateText({ model: provider()("gpt"), prompt: "hi", maxRetries: 0 });
    expect(generated.text).toBe("Hello there");
    expect(generated.finishReason).toBe("stop");
    expect(generated.usage).toMatchObject({ inputTokens: 3, outputTokens: 2 });
    expect(mock.requests[0]?.path).toBe("/v1/chat/completions");

    const streamed = streamText({ model: provider()("gpt"), prompt: "hi", maxRetries: 0 });
    let text = "";
    for await (const part of streamed.textStream) text += part;
    expect(text).toBe("Streamed text");
    expect(await streamed.finishReason).toBe("stop");
  });

  it("an executed tool over two steps, generateText and streamText", async () => {
    const calls: string[] = [];
    const tools = {
      weather: tool({
        description: "the weather in a city",
        inputSchema: z.object({ city: z.string() }),
        execute: async ({ city }) => {
          calls.push(city);
          return { city, sky: "sunny" };
        },
      }),
    };
    for (const mode of ["generate", "stream"] as const) {
      mock.reset();
      sent.length = 0;
      mock.script(
        complete({
          reasoning: ["need the weather"],
          content: [],
          toolCalls: [{ id: `call_${mode}`, name: "weather", arguments: ['{"city":"Oslo"}'] }],
        }),
        complete({ content: ["It is sunny in Oslo."] }),
      );
      const settings = {
        model: provider()("gpt"),
        tools,
        prompt: "weather in Oslo?",
        stopWhen: stepCountIs(2),
        maxRetries: 0,
      };
      let text: string;
      let steps: number;
      if (mode === "generate") {
        const result = await generateText(settings);
        text = result.text;
        steps = result.steps.length;
      } else {
        const result = streamText(settings);
        text = await result.text;
        steps = (await result.steps).length;
      }
      expect(text).toBe("It is sunny in Oslo.");
      expect(steps).toBe(2);
      const second = upstreamBody(1).messages as Array<Record<string, unknown>>;
      expect(second.at(-2)).toMatchObject({
        role: "assistant",
        tool_calls: [{ id: `call_${mode}`, function: { name: "weather", arguments: '{"city":"Oslo"}' } }],
      });
      expect(second.at(-1)).toMatchObject({ role: "tool", tool_call_id: `call_${mode}` });
      expect(JSON.parse(second.at(-1)?.content as string)).toEqual({ city: "Oslo", sky: "sunny" });
      // the AI SDK stores by default: the second step names the first step's reasoning by reference
      expect((sent[1] as { input: unknown[] }).input[1]).toMatchObject({
        type: "item_reference",
        id: expect.stringMatching(/^rs_0_/),
      });
    }
    expect(calls).toEqual(["Oslo", "Oslo"]);
  });
});
