// The OpenAI-family providers through the whole system over real HTTP: the official openai client
// (retries off) → gateway → remote engine → the testkit's mock provider, on the manual clock.
// Each runtime (openai, openai azure, litellm, openai-compatible) in unary and streaming mode and
// what reached the upstream; tools and usage details end to end; the remote metrics; what the
// client sees for each failure (the table in docs/providers.md); that secrets never leave the
// process; and that examples/providers/*.toml validate.

import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import type { Logger } from "../../src/actor/index.js";
import {
  createInferenceSystem,
  type DeploymentInput,
  defaultRuntimeRegistry,
  type InferenceSystem,
  parseConfig,
} from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { ManualClock, until } from "../../src/testkit/manual-clock.js";
import {
  complete,
  dropMidStream,
  errorResponse,
  forbidden,
  type MockProvider,
  malformedSse,
  openAiErrorBody,
  type ReceivedRequest,
  rateLimited,
  serverError,
  stallMidStream,
  startMockProvider,
  unauthorizedUnlessKey,
} from "../../src/testkit/mock-provider.js";
import { sample } from "./helpers.js";
import { advanceTo, codeOf, statusOf } from "./remote-helpers.js";

// ── setup (the pattern of remote-helpers.ts, with several deployments and captured logs) ────────

const OPENAI_KEY = "sk-openai-SECRET-1111";
const AZURE_KEY = "azure-SECRET-2222";
const LITELLM_KEY = "sk-litellm-SECRET-3333";
const SECRETS = [OPENAI_KEY, AZURE_KEY, LITELLM_KEY];
const API_VERSION = "2024-10-21";

interface Setup {
  readonly clock: ManualClock;
  readonly provider: MockProvider;
  readonly system: InferenceSystem;
  readonly gateway: ListeningGateway;
  readonly client: OpenAI;
  /** Every log line, with its object, as JSON. */
  readonly logs: string[];
  metrics(): Promise<string>;
  close(): Promise<void>;
}

async function start(
  deployments: (url: string) => DeploymentInput[],
  options: { server?: Record<string, unknown>; env?: Record<string, string> } = {},
): Promise<Setup> {
  const clock = new ManualClock();
  const provider = await startMockProvider();
  const logs: string[] = [];
  const line =
    (level: string) =>
    (object: object, message: string): void => {
      logs.push(JSON.stringify({ level, message, ...object }));
    };
  const logger: Logger = {
    debug: line("debug"),
    info: line("info"),
    warn: line("warn"),
    error: line("error"),
  };
  const system = await createInferenceSystem({
    clock,
    logger,
    random: () => 0.5,
    server: options.server ?? {},
    secrets: {
      env: options.env ?? {
        OPENAI_API_KEY: OPENAI_KEY,
        AZURE_OPENAI_API_KEY: AZURE_KEY,
        LITELLM_API_KEY: LITELLM_KEY,
      },
      readFile: () => {
        throw new Error("no secret files in this test");
      },
    },
    deployments: deployments(provider.url),
  });
  const gateway = await system.listen({ bind: "127.0.0.1:0" });
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client", maxRetries: 0 });
  return {
    clock,
    provider,
    system,
    gateway,
    client,
    logs,
    metrics: () => system.serving.service.metricsText(),
    async close() {
      await system.close({ drainTimeoutMs: 0 });
      await provider.close();
    },
  };
}

/** One deployment per runtime, all in front of the same mock provider. */
const everyRuntime = (url: string): DeploymentInput[] => [
  {
    name: "openai",
    model: "gpt-4o",
    runtime: "openai",
    runtime_config: {
      api_key: { from_env: "OPENAI_API_KEY" },
      base_url: `${url}/v1`,
      organization: "org-test",
      project: "proj-test",
    },
  },
  {
    name: "azure",
    model: "gpt-4o",
    runtime: "openai",
    runtime_config: {
      variant: "azure",
      api_key: { from_env: "AZURE_OPENAI_API_KEY" },
      endpoint: url,
      api_version: API_VERSION,
      deployment: "prod-4o",
    },
  },
  {
    name: "azure-default",
    model: "gpt-4o-mini",
    runtime: "openai",
    runtime_config: {
      variant: "azure",
      api_key: { from_env: "AZURE_OPENAI_API_KEY" },
      endpoint: url,
      api_version: API_VERSION,
    },
  },
  {
    name: "litellm",
    model: "claude-3-5-sonnet",
    runtime: "litellm",
    runtime_config: { api_key: { from_env: "LITELLM_API_KEY" }, base_url: `${url}/v1` },
  },
  {
    name: "vllm",
    model: "meta-llama/Llama-3.1-8B-Instruct",
    runtime: "openai-compatible",
    runtime_config: { base_url: `${url}/v1` },
  },
];

/** A single openai deployment named "gpt" with the given runtime_config and deployment keys. */
const single =
  (runtimeConfig: Record<string, unknown> = {}, deployment: Record<string, unknown> = {}) =>
  (url: string): DeploymentInput[] => [
    {
      name: "gpt",
      model: "gpt-4o",
      runtime: "openai",
      ...deployment,
      runtime_config: { api_key: { from_env: "OPENAI_API_KEY" }, base_url: `${url}/v1`, ...runtimeConfig },
    },
  ];

let setup: Setup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

const ask = (s: Setup, model = "gpt", extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  s.client.chat.completions.create({ model, messages: [{ role: "user", content: "hello there" }], ...extra });

async function askStream(
  s: Setup,
  model = "gpt",
  extra: Partial<OpenAI.ChatCompletionCreateParamsStreaming> = {},
): Promise<OpenAI.ChatCompletionChunk[]> {
  const stream = await s.client.chat.completions.create({
    model,
    messages: [{ role: "user", content: "hello there" }],
    stream: true,
    stream_options: { include_usage: true },
    ...extra,
  });
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

/** POSTs a chat body with fetch and returns the status, headers and raw text (SSE or JSON). */
async function raw(
  s: Setup,
  body: Record<string, unknown>,
): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(`${s.gateway.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "hello there" }], ...body }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function get(s: Setup, path: string): Promise<string> {
  return (await fetch(`${s.gateway.url}${path}`)).text();
}

const retryAfterOf = (error: unknown) =>
  (error as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after");

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error("expected the request to fail");
    },
    (error: unknown) => error,
  );
}

/** Scrapes /metrics (through the service) until `accept` holds. */
async function metricsUntil(s: Setup, accept: (text: string) => boolean): Promise<string> {
  for (let turn = 0; turn < 500; turn++) {
    const text = await s.metrics();
    if (accept(text)) return text;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error("metrics never matched");
}

function upstreamBody(request: ReceivedRequest | undefined): Record<string, unknown> {
  expect(request).toBeDefined();
  return request?.body as Record<string, unknown>;
}

/** A promise the test resolves with `open()`: the `resume` of complete({ pauseAfterEvents, resume }). */
function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

// ── each runtime serves unary and streaming ──────────────────────────────────────────────────────

interface RuntimeCase {
  readonly deployment: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly model: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly absentHeaders: readonly string[];
}

const runtimeCases: RuntimeCase[] = [
  {
    deployment: "openai",
    path: "/v1/chat/completions",
    query: {},
    model: "gpt-4o",
    headers: {
      authorization: `Bearer ${OPENAI_KEY}`,
      "openai-organization": "org-test",
      "openai-project": "proj-test",
    },
    absentHeaders: ["api-key"],
  },
  {
    deployment: "azure",
    path: "/openai/deployments/prod-4o/chat/completions",
    query: { "api-version": API_VERSION },
    model: "prod-4o",
    headers: { "api-key": AZURE_KEY },
    absentHeaders: ["authorization", "openai-organization"],
  },
  {
    deployment: "azure-default",
    path: "/openai/deployments/gpt-4o-mini/chat/completions",
    query: { "api-version": API_VERSION },
    model: "gpt-4o-mini",
    headers: { "api-key": AZURE_KEY },
    absentHeaders: ["authorization"],
  },
  {
    deployment: "litellm",
    path: "/v1/chat/completions",
    query: {},
    model: "claude-3-5-sonnet",
    headers: { authorization: `Bearer ${LITELLM_KEY}` },
    absentHeaders: ["api-key"],
  },
  {
    deployment: "vllm",
    path: "/v1/chat/completions",
    query: {},
    model: "meta-llama/Llama-3.1-8B-Instruct",
    headers: {},
    absentHeaders: ["authorization", "api-key"],
  },
];

function expectUpstreamRequest(request: ReceivedRequest | undefined, expected: RuntimeCase): void {
  expect(request?.method).toBe("POST");
  expect(request?.path).toBe(expected.path);
  expect(request?.query).toEqual(expected.query);
  expect(request?.headers).toMatchObject({ ...expected.headers, accept: "text/event-stream" });
  for (const header of expected.absentHeaders) expect(request?.headers).not.toHaveProperty(header);
  const body = upstreamBody(request);
  expect(body.model).toBe(expected.model);
  expect(body.stream).toBe(true);
  expect(body.stream_options).toEqual({ include_usage: true });
  expect(body.messages).toEqual([{ role: "user", content: "hello there" }]);
}

describe("each runtime serves unary and streaming clients", () => {
  it.each(runtimeCases)("$deployment: unary", async (expected) => {
    setup = await start(everyRuntime);
    const s = setup;
    const completion = await ask(s, expected.deployment, { max_tokens: 20 });
    expect(completion.model).toBe(expected.deployment);
    expect(completion.choices[0]?.message.content).toBe("Hello world");
    expect(completion.choices[0]?.finish_reason).toBe("stop");
    expect(completion.usage).toEqual({ prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 });
    expect(s.provider.arrivals).toBe(1);
    // the upstream is always called in streaming mode with usage requested, also for a unary client
    expectUpstreamRequest(s.provider.requests[0], expected);
    // OpenAI and Azure take max_completion_tokens (the o-series refuse max_tokens); the others max_tokens
    const body = upstreamBody(s.provider.requests[0]);
    const openAiFamily = expected.deployment === "openai" || expected.deployment.startsWith("azure");
    expect(openAiFamily ? body.max_completion_tokens : body.max_tokens).toBe(20);
    expect(openAiFamily ? body.max_tokens : body.max_completion_tokens).toBeUndefined();
  });

  it.each(runtimeCases)("$deployment: streaming", async (expected) => {
    setup = await start(everyRuntime);
    const s = setup;
    const chunks = await askStream(s, expected.deployment);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")).toBe("Hello world");
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.at(-1)?.usage).toEqual({ prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 });
    expect(chunks.every((chunk) => chunk.model === expected.deployment)).toBe(true);
    expectUpstreamRequest(s.provider.requests[0], expected);
  });

  it("a streaming client that does not ask for usage gets none, yet the upstream was asked for it", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    const chunks = await askStream(s, "vllm", { stream_options: null });
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(upstreamBody(s.provider.requests[0]).stream_options).toEqual({ include_usage: true });
  });

  it("sampling params reach the upstream as OpenAI fields", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    await ask(s, "litellm", {
      temperature: 0.3,
      top_p: 0.8,
      max_completion_tokens: 33,
      stop: ["END"],
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      seed: 7,
    });
    expect(upstreamBody(s.provider.requests[0])).toMatchObject({
      temperature: 0.3,
      top_p: 0.8,
      max_tokens: 33,
      stop: ["END"],
      presence_penalty: 0.1,
      frequency_penalty: 0.2,
      seed: 7,
    });
  });
});

// ── tools ────────────────────────────────────────────────────────────────────────────────────────

const tools: OpenAI.ChatCompletionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather in a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];
const toolChoice: OpenAI.ChatCompletionToolChoiceOption = {
  type: "function",
  function: { name: "get_weather" },
};
const weatherCall = complete({
  content: [],
  toolCalls: [{ id: "call_1", name: "get_weather", arguments: ['{"city":', '"Paris"}'] }],
});

describe("reasoning text from an OpenAI-compatible upstream (vLLM, DeepSeek)", () => {
  const thinking = complete({ reasoning: ["The user ", "greets."], content: ["Hi", "!"] });

  it("unary: message.reasoning_content beside the content, never inside it", async () => {
    setup = await start(everyRuntime);
    setup.provider.script(thinking);
    const completion = await ask(setup, "vllm");
    const message = completion.choices[0]?.message as { content: string | null; reasoning_content?: string };
    expect(message.content).toBe("Hi!");
    expect(message.reasoning_content).toBe("The user greets.");
  });

  it("streaming: delta.reasoning_content pieces first, then the content", async () => {
    setup = await start(everyRuntime);
    setup.provider.script(thinking);
    const chunks = await askStream(setup, "vllm");
    const deltas = chunks.map(
      (chunk) => chunk.choices[0]?.delta as { content?: string; reasoning_content?: string } | undefined,
    );
    expect(deltas.flatMap((delta) => (delta?.reasoning_content ? [delta.reasoning_content] : []))).toEqual([
      "The user ",
      "greets.",
    ]);
    expect(deltas.map((delta) => delta?.content ?? "").join("")).toBe("Hi!");
  });
});

describe("tools pass through end to end", () => {
  it("unary: the upstream gets tools and tool_choice verbatim; the client sees the assembled tool call", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    s.provider.script(weatherCall);
    const completion = await ask(s, "openai", {
      tools,
      tool_choice: toolChoice,
      response_format: { type: "text" },
    });
    const body = upstreamBody(s.provider.requests[0]);
    expect(body.tools).toEqual(tools);
    expect(body.tool_choice).toEqual(toolChoice);
    expect(body.response_format).toEqual({ type: "text" });
    expect(completion.choices[0]?.finish_reason).toBe("tool_calls");
    expect(completion.choices[0]?.message.content).toBeNull();
    expect(completion.choices[0]?.message.tool_calls).toEqual([
      { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
    ]);
  });

  it("streaming: the client sees the tool-call deltas (index, id, name, then argument pieces)", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    s.provider.script(
      complete({
        content: [],
        toolCalls: [
          { id: "call_1", name: "get_weather", arguments: ['{"city":', '"Paris"}'] },
          { id: "call_2", name: "get_weather", arguments: ['{"city":"Oslo"}'] },
        ],
      }),
    );
    const chunks = await askStream(s, "azure", { tools });
    expect(upstreamBody(s.provider.requests[0]).tools).toEqual(tools);
    const deltas = chunks.flatMap((chunk) => chunk.choices[0]?.delta.tool_calls ?? []);
    expect(deltas).toEqual([
      { index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } },
      { index: 0, function: { arguments: '{"city":' } },
      { index: 0, function: { arguments: '"Paris"}' } },
      { index: 1, id: "call_2", type: "function", function: { name: "get_weather", arguments: "" } },
      { index: 1, function: { arguments: '{"city":"Oslo"}' } },
    ]);
    expect(chunks.find((chunk) => chunk.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe(
      "tool_calls",
    );
  });

  it("the tool turn goes back upstream: assistant tool_calls and the tool message with its tool_call_id", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: "user", content: "weather in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: '{"celsius":21}' },
    ];
    const completion = await s.client.chat.completions.create({ model: "vllm", messages, tools });
    expect(completion.choices[0]?.message.content).toBe("Hello world");
    expect(upstreamBody(s.provider.requests[0]).messages).toEqual(messages);
  });

  it("image parts reach the upstream as image_url parts", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    await s.client.chat.completions.create({
      model: "openai",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what is this?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
          ],
        },
      ],
    });
    expect(upstreamBody(s.provider.requests[0]).messages).toEqual([
      {
        role: "user",
        content: [
          { type: "text", text: "what is this?" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
        ],
      },
    ]);
  });
});

describe("user and image_url.detail pass through", () => {
  const withImage = (detail: "low" | "high"): OpenAI.ChatCompletionMessageParam[] => [
    {
      role: "user",
      content: [
        { type: "text", text: "what is this?" },
        { type: "image_url", image_url: { url: "https://example.com/cat.png", detail } },
      ],
    },
  ];

  it.each(["openai", "azure", "litellm", "vllm"])("%s: the upstream gets user and detail", async (model) => {
    setup = await start(everyRuntime);
    const s = setup;
    await s.client.chat.completions.create({ model, messages: withImage("high"), user: "end-user-7" });
    const body = upstreamBody(s.provider.requests[0]);
    expect(body.user).toBe("end-user-7");
    expect(body.messages).toEqual(withImage("high"));
  });

  it("a streaming request carries them too; without them the upstream gets neither", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    await askStream(s, "openai", { messages: withImage("low"), user: "end-user-8" });
    await ask(s, "openai");
    expect(upstreamBody(s.provider.requests[0])).toMatchObject({
      user: "end-user-8",
      messages: withImage("low"),
    });
    expect(upstreamBody(s.provider.requests[1])).not.toHaveProperty("user");
  });

  it("a local deployment accepts (and ignores) user, and refuses an image part by its field", async () => {
    setup = await start((url) => [
      ...single()(url),
      { name: "local", model: "local-model", runtime: "mock", runtime_config: {} },
    ]);
    const s = setup;
    const completion = await s.client.chat.completions.create({
      model: "local",
      messages: [{ role: "user", content: "plain text" }],
      user: "end-user-9",
      max_tokens: 2,
    });
    expect(completion.choices[0]?.finish_reason).toBeDefined();
    const refused = await failure(
      s.client.chat.completions.create({ model: "local", messages: withImage("low"), max_tokens: 2 }),
    );
    expect(statusOf(refused)).toBe(400);
    expect((refused as Error).message).toContain("messages[0].content[1]: ");
    expect(s.provider.arrivals).toBe(0);
  });
});

// ── usage details ──────────────────────────────────────────────────────────────────────────────

describe("usage with cached and reasoning tokens reaches the client", () => {
  const usage = {
    prompt_tokens: 1200,
    completion_tokens: 300,
    prompt_tokens_details: { cached_tokens: 1024 },
    completion_tokens_details: { reasoning_tokens: 256 },
  };
  const expected = {
    prompt_tokens: 1200,
    completion_tokens: 300,
    total_tokens: 1500,
    prompt_tokens_details: { cached_tokens: 1024 },
    completion_tokens_details: { reasoning_tokens: 256 },
  };

  it("unary", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    s.provider.script(complete({ usage }));
    expect((await ask(s, "openai")).usage).toEqual(expected);
  });

  it("streaming, in the usage chunk", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    s.provider.script(complete({ usage }));
    const chunks = await askStream(s, "litellm");
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toEqual(expected);
  });

  it("tokens are counted in rakka_tokens_total", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    s.provider.script(complete({ usage }));
    await ask(s, "openai");
    const metrics = await metricsUntil(
      s,
      (text) => sample(text, "rakka_tokens_total", { deployment: "openai", direction: "output" }) === 300,
    );
    expect(sample(metrics, "rakka_tokens_total", { deployment: "openai", direction: "input" })).toBe(1200);
  });

  it("an upstream that sends no usage chunk gives an estimate (output = chunks seen)", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    s.provider.script(complete({ content: ["a", "b", "c"], includeUsage: false }));
    expect((await ask(s, "vllm")).usage).toEqual({ prompt_tokens: 0, completion_tokens: 3, total_tokens: 3 });
  });
});

// ── metrics ──────────────────────────────────────────────────────────────────────────────────────

describe("/metrics shows the remote series", () => {
  it("upstream requests and latency, retries, circuit state per endpoint, rate-limit utilisation, queue depth", async () => {
    setup = await start(
      single({ rate_limits: { requests_per_minute: 10 } }, { serving: { max_concurrent: 1 } }),
    );
    const s = setup;
    const endpoint = `openai|${s.provider.url}/v1|gpt-4o`;

    // before any request: the circuit of the endpoint is closed (0), labelled by deployment and endpoint
    let metrics = await s.metrics();
    expect(sample(metrics, "rakka_circuit_state", { deployment: "gpt", endpoint })).toBe(0);

    // a 503 then a success: one retry after 250 ms (500 ms backoff × jitter 0.5)
    s.provider.script(serverError(503), complete());
    const first = ask(s);
    await s.provider.waitForRequests(1);
    await advanceTo(s, s.clock.now() + 250);
    expect((await first).choices[0]?.message.content).toBe("Hello world");
    metrics = await metricsUntil(
      s,
      (text) => sample(text, "rakka_retries_total", { deployment: "gpt" }) === 1,
    );
    expect(sample(metrics, "rakka_upstream_requests_total", { deployment: "gpt", status: "503" })).toBe(1);
    expect(sample(metrics, "rakka_upstream_requests_total", { deployment: "gpt", status: "200" })).toBe(1);
    expect(sample(metrics, "rakka_upstream_latency_seconds_count", { deployment: "gpt" })).toBe(2);
    expect(sample(metrics, "rakka_circuit_state", { deployment: "gpt", endpoint })).toBe(0);
    // two permits taken from a bucket of 10 (refilled by 10/60 per second for the 0.25 s between them)
    const utilization = sample(metrics, "rakka_rate_limit_utilization", { deployment: "gpt" });
    expect(utilization).toBeCloseTo(1 - (10 - 2 + (10 / 60) * 0.25) / 10, 6);
    expect(sample(metrics, "rakka_remote_queue_depth", { deployment: "gpt" })).toBe(0);

    // max_concurrent = 1: a second request waits while the first is held mid-stream
    const held = gate();
    s.provider.script(complete({ pauseAfterEvents: 2, resume: held.promise }));
    const slow = ask(s);
    await s.provider.waitForRequests(3);
    const queued = ask(s);
    await metricsUntil(s, (text) => sample(text, "rakka_remote_queue_depth", { deployment: "gpt" }) === 1);
    held.open();
    await Promise.all([slow, queued]);
    await metricsUntil(s, (text) => sample(text, "rakka_remote_queue_depth", { deployment: "gpt" }) === 0);
    expect(s.provider.arrivals).toBe(4);
  });

  it("rakka_circuit_state follows the endpoint: 2 when open, 1 while a probe is out, 0 after it succeeds", async () => {
    setup = await start(
      single({
        retry: { max_retries: 0 },
        circuit_breaker: { failure_threshold: 2, open_duration_ms: 5000 },
      }),
    );
    const s = setup;
    const endpoint = `openai|${s.provider.url}/v1|gpt-4o`;
    s.provider.script(serverError(500), serverError(500));
    await failure(ask(s));
    await failure(ask(s));
    await metricsUntil(
      s,
      (text) => sample(text, "rakka_circuit_state", { deployment: "gpt", endpoint }) === 2,
    );
    await s.clock.advance(5000);
    const held = gate();
    s.provider.script(complete({ pauseAfterEvents: 1, resume: held.promise }));
    const probe = ask(s);
    await s.provider.waitForRequests(3);
    await metricsUntil(
      s,
      (text) => sample(text, "rakka_circuit_state", { deployment: "gpt", endpoint }) === 1,
    );
    held.open();
    await probe;
    await metricsUntil(
      s,
      (text) => sample(text, "rakka_circuit_state", { deployment: "gpt", endpoint }) === 0,
    );
  });
});

// ── what the client sees for each failure (the table in docs/providers.md) ─────────────────────

/** OpenAI's answer for an account out of credit: a 429 whose code and type are insufficient_quota. */
const insufficientQuota = () =>
  errorResponse(429, {
    body: openAiErrorBody(
      "You exceeded your current quota, please check your plan and billing details.",
      "insufficient_quota",
      "insufficient_quota",
    ),
    headers: { "retry-after": "20" },
  });

describe("what the client sees for each failure", () => {
  it("429 insufficient_quota: no retry, no Retry-After wait → 429 budget_exceeded; the circuit stays closed", async () => {
    setup = await start(single({ retry: { max_retries: 2 }, circuit_breaker: { failure_threshold: 1 } }));
    const s = setup;
    s.provider.script(insufficientQuota());
    // settles without the clock moving: no backoff and no Retry-After wait
    const error = await failure(ask(s));
    expect(statusOf(error)).toBe(429);
    expect(codeOf(error)).toBe("budget_exceeded");
    // the upstream's Retry-After is the client's hint; nothing waited on it (the clock never moved)
    expect(retryAfterOf(error)).toBe("20");
    expect((error as Error).message).toContain("the upstream account's quota is exhausted");
    expect((error as Error).message).toContain("You exceeded your current quota");
    expect(s.provider.arrivals).toBe(1);
    const metrics = await s.metrics();
    expect(sample(metrics, "rakka_retries_total", { deployment: "gpt" }) ?? 0).toBe(0);
    expect(sample(metrics, "rakka_circuit_state", { deployment: "gpt" })).toBe(0);
    // failure_threshold = 1, yet the next request goes through: the quota error did not count
    expect((await ask(s)).choices[0]?.message.content).toBe("Hello world");
  });

  it("429 without Retry-After: retried after the backoff; exhausted → 429 rate_limited with Retry-After: 1", async () => {
    setup = await start(single({ retry: { max_retries: 1 } }));
    const s = setup;
    s.provider.script(rateLimited(), rateLimited());
    const result = failure(ask(s));
    await s.provider.waitForRequests(1);
    await advanceTo(s, s.clock.now() + 250);
    const error = await result;
    expect(statusOf(error)).toBe(429);
    expect(codeOf(error)).toBe("rate_limited");
    expect(retryAfterOf(error)).toBe("1");
    expect(s.provider.arrivals).toBe(2);
  });

  it("a Retry-After longer than max_backoff_ms is honoured in full", async () => {
    setup = await start(single({ retry: { max_backoff_ms: 1000 } }));
    const s = setup;
    s.provider.script(rateLimited(5), complete({ content: ["later"] }));
    const startedAt = s.clock.now();
    const result = ask(s);
    await s.provider.waitForRequests(1);
    await until(() => s.clock.hasTimerAt(startedAt + 5000));
    await s.clock.advance(4999);
    expect(s.provider.arrivals).toBe(1);
    await s.clock.advance(1);
    expect((await result).choices[0]?.message.content).toBe("later");
  });

  it("5xx: retried with growing backoff and can succeed", async () => {
    setup = await start(single());
    const s = setup;
    s.provider.script(serverError(502), serverError(500), complete({ content: ["third time"] }));
    const result = ask(s);
    await s.provider.waitForRequests(1);
    await advanceTo(s, s.clock.now() + 250);
    await s.provider.waitForRequests(2);
    await advanceTo(s, s.clock.now() + 500);
    expect((await result).choices[0]?.message.content).toBe("third time");
    expect(s.provider.arrivals).toBe(3);
  });

  it("5xx exhausted → 502 server_error", async () => {
    setup = await start(single({ retry: { max_retries: 0 } }));
    const s = setup;
    s.provider.script(serverError(503));
    const error = await failure(ask(s));
    expect(statusOf(error)).toBe(502);
    expect(codeOf(error)).toBe("server_error");
  });

  it("an upstream 504 is a 502 server_error (the gateway's 504 means a timeout of its own)", async () => {
    setup = await start(single({ retry: { max_retries: 0 } }));
    const s = setup;
    s.provider.script(serverError(504));
    const error = await failure(ask(s));
    expect(statusOf(error)).toBe(502);
    expect(codeOf(error)).toBe("server_error");
  });

  it("an upstream 408 is retried, then 504 timeout", async () => {
    setup = await start(single({ retry: { max_retries: 1 } }));
    const s = setup;
    s.provider.script(errorResponse(408), errorResponse(408));
    const result = failure(ask(s));
    await s.provider.waitForRequests(1);
    await advanceTo(s, s.clock.now() + 250);
    const error = await result;
    expect(statusOf(error)).toBe(504);
    expect(codeOf(error)).toBe("timeout");
    expect(s.provider.arrivals).toBe(2);
  });

  it("an output content filter (finish_reason content_filter) is a normal answer, not an error", async () => {
    setup = await start(single());
    const s = setup;
    s.provider.script(complete({ content: ["partial"], finishReason: "content_filter" }));
    const completion = await ask(s);
    expect(completion.choices[0]?.finish_reason).toBe("content_filter");
    expect(completion.choices[0]?.message.content).toBe("partial");
  });

  it("a circuit that opens during the retries ends the request 503 circuit_open", async () => {
    setup = await start(single({ retry: { max_retries: 2 }, circuit_breaker: { failure_threshold: 1 } }));
    const s = setup;
    s.provider.script(serverError(503));
    const result = failure(ask(s));
    await s.provider.waitForRequests(1);
    await advanceTo(s, s.clock.now() + 250);
    const error = await result;
    expect(statusOf(error)).toBe(503);
    expect(codeOf(error)).toBe("circuit_open");
    expect(retryAfterOf(error)).toBe("30");
    expect(s.provider.arrivals).toBe(1);
  });

  it("a connection drop before any content is retried; exhausted → 502 network_error", async () => {
    setup = await start(single({ retry: { max_retries: 1 } }));
    const s = setup;
    s.provider.script(dropMidStream(0), dropMidStream(0));
    const result = failure(ask(s));
    await s.provider.waitForRequests(1);
    await advanceTo(s, s.clock.now() + 250);
    const error = await result;
    expect(statusOf(error)).toBe(502);
    expect(codeOf(error)).toBe("network_error");
    expect(s.provider.arrivals).toBe(2);
  });

  it("a connection drop after content, unary client → 502 network_error, not retried", async () => {
    setup = await start(single());
    const s = setup;
    s.provider.script(dropMidStream(1));
    const error = await failure(ask(s));
    expect(statusOf(error)).toBe(502);
    expect(codeOf(error)).toBe("network_error");
    expect(s.provider.arrivals).toBe(1);
  });

  it("a malformed SSE event before any content is retried; exhausted → 502 server_error", async () => {
    setup = await start(single({ retry: { max_retries: 1 } }));
    const s = setup;
    s.provider.script(malformedSse(0), malformedSse(0));
    const result = failure(ask(s));
    await s.provider.waitForRequests(1);
    await advanceTo(s, s.clock.now() + 250);
    const error = await result;
    expect(statusOf(error)).toBe(502);
    expect(codeOf(error)).toBe("server_error");
    expect((error as Error).message).toContain("malformed stream event");
    expect(s.provider.arrivals).toBe(2);
  });

  it("a malformed SSE event after content, streaming client → SSE error event server_error, no [DONE]", async () => {
    setup = await start(single());
    const s = setup;
    s.provider.script(malformedSse(1));
    const response = await raw(s, { model: "gpt", stream: true });
    expect(response.status).toBe(200);
    expect(response.text).toContain('"content":"chunk1"');
    expect(response.text).toMatch(
      /data: \{"error":\{"message":"[^"]*","type":"upstream_error","code":"server_error"\}\}/,
    );
    expect(response.text).not.toContain("[DONE]");
    expect(s.provider.arrivals).toBe(1);
  });

  it("response headers without a body byte: the first-byte timeout (not the read timeout) applies", async () => {
    setup = await start(
      single({ retry: { max_retries: 0 }, timeouts: { first_byte_timeout_ms: 1000, read_timeout_ms: 300 } }),
    );
    const s = setup;
    s.provider.script(stallMidStream(0));
    const result = failure(ask(s));
    await s.provider.waitForRequests(1);
    await s.clock.advance(999);
    await advanceTo(s, s.clock.now() + 1);
    const error = await result;
    expect(statusOf(error)).toBe(504);
    expect((error as Error).message).toContain("no first byte within 1000 ms");
  });

  it("a read timeout after content, unary client → 504 timeout, not retried", async () => {
    setup = await start(single({ timeouts: { read_timeout_ms: 500 } }));
    const s = setup;
    s.provider.script(stallMidStream(1));
    const result = failure(ask(s));
    await s.provider.waitForRequests(1);
    await advanceTo(s, s.clock.now() + 500);
    const error = await result;
    expect(statusOf(error)).toBe(504);
    expect(codeOf(error)).toBe("timeout");
    expect(s.provider.arrivals).toBe(1);
  });

  it("a failure before commit reaches a streaming client as a plain HTTP error", async () => {
    setup = await start(single());
    const s = setup;
    s.provider.script(forbidden());
    const response = await raw(s, { model: "gpt", stream: true });
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(response.text)).toMatchObject({
      error: { code: "forbidden", type: "permission_error" },
    });
  });

  it("an upstream 404 (unknown model or path) → 404 not_found", async () => {
    setup = await start(single());
    const s = setup;
    s.provider.script(
      errorResponse(404, {
        body: openAiErrorBody(
          "The model `gpt-4o` does not exist",
          "invalid_request_error",
          "model_not_found",
        ),
      }),
    );
    const error = await failure(ask(s));
    expect(statusOf(error)).toBe(404);
    expect(codeOf(error)).toBe("not_found");
    expect(s.provider.arrivals).toBe(1);
  });

  it("local rate limit, on_capacity_exhausted = reject → 429 rate_limited with the bucket's Retry-After", async () => {
    setup = await start(
      single({ rate_limits: { requests_per_minute: 1 } }, { serving: { on_capacity_exhausted: "reject" } }),
    );
    const s = setup;
    await ask(s);
    const error = await failure(ask(s));
    expect(statusOf(error)).toBe(429);
    expect(codeOf(error)).toBe("rate_limited");
    expect(retryAfterOf(error)).toBe("60");
    expect(s.provider.arrivals).toBe(1);
  });

  it("engine full, on_capacity_exhausted = reject → 429 backpressure with Retry-After: 1", async () => {
    setup = await start(single({}, { serving: { max_concurrent: 1, on_capacity_exhausted: "reject" } }));
    const s = setup;
    const held = gate();
    s.provider.script(complete({ pauseAfterEvents: 2, resume: held.promise }));
    const first = ask(s);
    await s.provider.waitForRequests(1);
    const error = await failure(ask(s));
    expect(statusOf(error)).toBe(429);
    expect(codeOf(error)).toBe("backpressure");
    expect(retryAfterOf(error)).toBe("1");
    held.open();
    await first;
    expect(s.provider.arrivals).toBe(1);
  });

  it("engine full, on_capacity_exhausted = queue → 429 backpressure after queue_timeout_ms", async () => {
    setup = await start(single({}, { serving: { max_concurrent: 1, queue_timeout_ms: 1000 } }));
    const s = setup;
    const held = gate();
    s.provider.script(complete({ pauseAfterEvents: 2, resume: held.promise }));
    const first = ask(s);
    await s.provider.waitForRequests(1);
    const second = failure(ask(s));
    await advanceTo(s, s.clock.now() + 1000);
    const error = await second;
    expect(statusOf(error)).toBe(429);
    expect(codeOf(error)).toBe("backpressure");
    held.open();
    await first;
  });

  it("idempotent = false: no retry of a 5xx or a 429, but a 401 still gets its one re-authenticated try", async () => {
    setup = await start(single({ retry: { max_retries: 3 } }, { idempotent: false }));
    const s = setup;
    s.provider.script(rateLimited(1));
    expect(codeOf(await failure(ask(s)))).toBe("rate_limited");
    expect(s.provider.arrivals).toBe(1);
    s.provider.setDefault(unauthorizedUnlessKey("sk-other"));
    const error = await failure(ask(s));
    expect(statusOf(error)).toBe(502);
    expect(codeOf(error)).toBe("upstream_unauthorized");
    expect(s.provider.arrivals).toBe(3);
  });
});

// ── the rate limiter and the circuit breaker together ──────────────────────────────────────────

describe("an upstream quota error and fallbacks", () => {
  const withBackup =
    (deployment: Record<string, unknown>) =>
    (url: string): DeploymentInput[] => [
      ...single({ retry: { max_retries: 2 } }, { fallbacks: ["backup"], ...deployment })(url),
      {
        name: "backup",
        model: "backup-model",
        runtime: "openai-compatible",
        runtime_config: { base_url: `${url}/v1` },
      },
    ];

  it("the default fallback_on does not fall back on it (budget_exceeded is not listed)", async () => {
    setup = await start(withBackup({}));
    const s = setup;
    s.provider.script(insufficientQuota());
    const error = await failure(ask(s));
    expect(codeOf(error)).toBe("budget_exceeded");
    expect(s.provider.arrivals).toBe(1);
  });

  it('fallback_on with "budget_exceeded" goes to the fallback at once, without retries', async () => {
    setup = await start(withBackup({ fallback_on: ["budget_exceeded", "rate_limited"] }));
    const s = setup;
    s.provider.script(insufficientQuota(), complete({ content: ["from backup"] }));
    const completion = await ask(s);
    expect(completion.choices[0]?.message.content).toBe("from backup");
    expect(s.provider.requests.map((request) => upstreamBody(request).model)).toEqual([
      "gpt-4o",
      "backup-model",
    ]);
    expect(
      sample(await s.metrics(), "rakka_fallbacks_total", {
        from: "gpt",
        to: "backup",
        reason: "budget_exceeded",
      }),
    ).toBe(1);
  });
});

describe("rate limiter and circuit breaker", () => {
  // RemoteWorkerActor#run takes the rate-limit permit before it checks the circuit; when the check
  // fails fast it settles the reserved tokens (#settle(reserved, 0)) but never gives the request slot
  // back. Every circuit_open answer therefore spends one requests_per_minute token for a request that
  // never reached the upstream, and when the circuit half-opens its probe finds the bucket empty.
  it("requests refused by an open circuit do not spend requests_per_minute", async () => {
    setup = await start(
      single(
        {
          rate_limits: { requests_per_minute: 5 },
          retry: { max_retries: 0 },
          circuit_breaker: { failure_threshold: 1, open_duration_ms: 1000 },
        },
        { serving: { on_capacity_exhausted: "reject" } },
      ),
    );
    const s = setup;
    s.provider.script(serverError(503));
    expect(codeOf(await failure(ask(s)))).toBe("server_error"); // opens the circuit
    for (let i = 0; i < 4; i++) expect(codeOf(await failure(ask(s)))).toBe("circuit_open");
    await s.clock.advance(1000);
    // one request of five has reached the upstream: the half-open probe must get through
    expect((await ask(s)).choices[0]?.message.content).toBe("Hello world");
    expect(s.provider.arrivals).toBe(2);
  });
});

// ── secrets ──────────────────────────────────────────────────────────────────────────────────────

describe("secrets never leave the process", () => {
  it("no key appears in any response body, SSE stream, error, /metrics, /v1/models, /readyz or log line", async () => {
    setup = await start(everyRuntime);
    const s = setup;
    const seen: string[] = [];
    for (const deployment of ["openai", "azure", "litellm", "vllm"]) {
      seen.push((await raw(s, { model: deployment })).text);
      seen.push(
        (await raw(s, { model: deployment, stream: true, stream_options: { include_usage: true } })).text,
      );
    }
    // upstream refusals of our credentials, and other upstream errors
    s.provider.setDefault(unauthorizedUnlessKey("not-our-key"));
    for (const deployment of ["openai", "azure", "litellm"]) {
      const refused = await raw(s, { model: deployment });
      expect(refused.status).toBe(502);
      expect(JSON.parse(refused.text)).toMatchObject({ error: { code: "upstream_unauthorized" } });
      seen.push(refused.text);
    }
    s.provider.setDefault(complete());
    s.provider.script(
      forbidden(),
      errorResponse(400, { body: openAiErrorBody("bad", "invalid_request_error") }),
    );
    seen.push((await raw(s, { model: "openai" })).text);
    seen.push((await raw(s, { model: "azure", stream: true })).text);
    seen.push(await get(s, "/metrics"), await get(s, "/v1/models"), await get(s, "/readyz"));
    seen.push(...s.logs);
    const everything = seen.join("\n");
    expect(everything).toContain("rakka_upstream_requests_total");
    expect(everything).toContain("upstream_unauthorized");
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
    // the keys did reach the upstream, in the headers only
    const sent = s.provider.requests.map((request) => request.apiKey);
    for (const secret of SECRETS) expect(sent).toContain(secret);
  });

  // mapOpenAiError keeps the upstream's message, and a proxy may echo the key it got whole (OpenAI's
  // own 401 quotes only a masked form): the remote worker redacts the deployment's key from it.
  it("an upstream error message that quotes our API key reaches neither the client nor the logs", async () => {
    setup = await start(single({ retry: { max_retries: 0 } }));
    const s = setup;
    const quoting = (status: number) =>
      errorResponse(status, {
        body: openAiErrorBody(`Invalid request for key ${OPENAI_KEY}`, "invalid_request_error"),
      });
    s.provider.script(quoting(400), quoting(400), quoting(401), quoting(401));
    s.provider.script(errorResponse(502, { body: `proxy: upstream refused Bearer ${OPENAI_KEY}` }));
    const unary = await raw(s, { model: "gpt" });
    expect(unary.status).toBe(400);
    const streaming = await raw(s, { model: "gpt", stream: true });
    expect(streaming.status).toBe(400);
    const unauthorized = await raw(s, { model: "gpt" }); // refused, re-read, refused again
    expect(unauthorized.status).toBe(502);
    const plainText = await raw(s, { model: "gpt" });
    expect(plainText.status).toBe(502);
    expect(s.provider.arrivals).toBe(5);
    for (const response of [unary, streaming, unauthorized, plainText]) {
      expect(response.text).toContain("[redacted]");
      expect(response.text).not.toContain(OPENAI_KEY);
    }
    expect(s.logs.join("\n")).not.toContain(OPENAI_KEY);
  });
});

describe("credential rotation", () => {
  // RemoteSessionActor#rotate calls `apiKey.load()` with no environment: the Secret re-reads the
  // SecretEnvironment given to createInferenceSystem({ secrets }) that loaded it first, not
  // process.env (where ROTATING_KEY is not set) or the real file system.
  it("a 401 re-reads the key from the injected secret environment, not process.env", async () => {
    const env: Record<string, string> = { ROTATING_KEY: "key-1" };
    setup = await start(
      (url) => [
        {
          name: "gpt",
          model: "gpt-4o",
          runtime: "openai",
          runtime_config: { api_key: { from_env: "ROTATING_KEY" }, base_url: `${url}/v1` },
        },
      ],
      { env },
    );
    const s = setup;
    expect((await ask(s)).choices[0]?.message.content).toBe("Hello world");
    env.ROTATING_KEY = "key-2";
    s.provider.setDefault(unauthorizedUnlessKey("key-2", complete({ content: ["rotated"] })));
    expect((await ask(s)).choices[0]?.message.content).toBe("rotated");
  });
});

// ── the provider examples ────────────────────────────────────────────────────────────────────────

describe("examples/providers", () => {
  const directory = join(import.meta.dirname, "../../examples/providers");

  it("has one example per provider", async () => {
    expect((await readdir(directory)).sort()).toEqual(
      expect.arrayContaining([
        "anthropic.toml",
        "azure.toml",
        "gemini.toml",
        "litellm.toml",
        "openai.toml",
        "vllm.toml",
      ]),
    );
  });

  it.each(["openai.toml", "azure.toml", "litellm.toml", "vllm.toml", "anthropic.toml", "gemini.toml"])(
    "%s validates, with every secret from the environment",
    async (file) => {
      const text = await readFile(join(directory, file), "utf8");
      const names = [...text.matchAll(/from_env\s*=\s*"([A-Z0-9_]+)"/g)].map((match) => match[1] as string);
      expect(names.length).toBeGreaterThan(0);
      const env = Object.fromEntries(names.map((name) => [name, `value-of-${name}`]));
      const result = parseConfig(text, {
        runtimes: defaultRuntimeRegistry(),
        secrets: {
          env,
          readFile: () => {
            throw new Error("no files");
          },
        },
      });
      if (!result.ok) throw new Error(JSON.stringify(result.problems, null, 2));
      expect(result.warnings).toEqual([]); // no inline secrets
      expect(result.value.deployments.length).toBeGreaterThan(0);
      for (const deployment of result.value.deployments) {
        expect(["openai", "litellm", "openai-compatible", "anthropic", "gemini"]).toContain(
          deployment.runtime,
        );
      }
      // without the variables the file is refused, naming each one
      const missing = parseConfig(text, {
        runtimes: defaultRuntimeRegistry(),
        secrets: { env: {}, readFile: () => "" },
      });
      expect(missing.ok).toBe(false);
      if (!missing.ok) {
        for (const name of names) {
          expect(missing.problems.map((problem) => problem.message)).toContain(
            `environment variable ${name} is not set`,
          );
        }
      }
    },
  );
});
