// The OpenAI-compatible API of the whole system over real HTTP, driven by the official `openai`
// client (retries off) and raw fetch: unary, streaming, usage, typed errors, readiness with a
// failed deployment, metrics that move, and a client that leaves mid-stream.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { flushMicrotasks, ManualClock } from "../../src/testkit/manual-clock.js";
import { sample } from "./helpers.js";

let system: InferenceSystem;
let listening: ListeningGateway;
let client: OpenAI;

beforeAll(async () => {
  system = await createInferenceSystem({
    clock: new ManualClock(),
    deployments: [
      { name: "echo", model: "echo-1", runtime: "mock" },
      {
        name: "single",
        model: "echo-1",
        runtime: "mock",
        serving: { max_concurrent: 1, on_capacity_exhausted: "reject" },
        runtime_config: { stall_after_tokens: 1 },
      },
      { name: "poisoned", model: "echo-1", runtime: "mock", runtime_config: { poison_after_requests: 0 } },
    ],
  });
  listening = await system.listen({ bind: "127.0.0.1:0" });
  client = new OpenAI({ baseURL: `${listening.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await system.close({ drainTimeoutMs: 0 });
});

const post = (path: string, body: unknown) =>
  fetch(`${listening.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

describe("HTTP API with the openai client", () => {
  it("unary chat completion with usage", async () => {
    const completion = await client.chat.completions.create({
      model: "echo",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "one two three" },
      ],
      max_tokens: 4,
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.model).toBe("echo");
    expect(completion.choices[0]?.message).toMatchObject({ role: "assistant", content: "one two three one" });
    expect(completion.choices[0]?.finish_reason).toBe("length");
    expect(completion.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 });
  });

  it("every answer names its deployment and node (local outside a cluster), unary and streaming", async () => {
    const unary = await client.chat.completions
      .create({ model: "echo", messages: [{ role: "user", content: "hi" }], max_tokens: 1 })
      .withResponse();
    expect(unary.response.headers.get("x-rakka-deployment")).toBe("echo");
    expect(unary.response.headers.get("x-rakka-node")).toBe("local");
    const streamed = await client.chat.completions
      .create({ model: "echo", messages: [{ role: "user", content: "hi" }], max_tokens: 1, stream: true })
      .withResponse();
    expect(streamed.response.headers.get("x-rakka-node")).toBe("local");
    for await (const _chunk of streamed.data) {
      // drain the stream
    }
  });

  it("finish_reason stop when a stop string ends it", async () => {
    const completion = await client.chat.completions.create({
      model: "echo",
      messages: [{ role: "user", content: "alpha beta gamma" }],
      stop: ["gamma"],
    });
    expect(completion.choices[0]?.message.content).toBe("alpha beta ");
    expect(completion.choices[0]?.finish_reason).toBe("stop");
  });

  it("streaming chunks, then the usage chunk, then [DONE]", async () => {
    const stream = await client.chat.completions.create({
      model: "echo",
      messages: [{ role: "user", content: "red green" }],
      max_tokens: 3,
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      expect(chunk.object).toBe("chat.completion.chunk");
      const choice = chunk.choices[0];
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas.join("")).toBe("red green red");
    expect(finish).toBe("length");
    expect(usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 3 });
  });

  it("legacy completions", async () => {
    const completion = await client.completions.create({ model: "echo", prompt: "once upon", max_tokens: 3 });
    expect(completion.object).toBe("text_completion");
    expect(completion.choices[0]?.text).toBe("once upon once");
  });

  it("an unknown model is the client's NotFoundError (404)", async () => {
    const error = await client.chat.completions
      .create({ model: "missing", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("not_found");
    // the client's model name never becomes a metric label (random names cannot grow the series)
    const metrics = await system.serving.service.metricsText();
    expect(metrics).not.toContain('deployment="missing"');
    expect(sample(metrics, "rakka_requests_total", { deployment: "(unknown)", outcome: "not_found" })).toBe(
      1,
    );
  });

  it("a full deployment is the client's RateLimitError (429) with Retry-After; a leaving client frees the slot", async () => {
    const controller = new AbortController();
    const first = await fetch(`${listening.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "single", stream: true, messages: [{ role: "user", content: "hold" }] }),
      signal: controller.signal,
    });
    const reader = first.body?.getReader();
    const firstBytes = new TextDecoder().decode((await reader?.read())?.value);
    expect(firstBytes).toContain("data: ");

    const error = await client.chat.completions
      .create({ model: "single", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const rateLimited = error as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rateLimited.code).toBe("backpressure");
    expect(rateLimited.headers?.get("retry-after")).toBe("1");

    controller.abort();
    for (let i = 0; i < 20; i++) {
      await flushMicrotasks();
      const metrics = await system.serving.service.metricsText();
      if (sample(metrics, "rakka_num_requests_running", { deployment: "single" }) === 0) break;
    }
    const metrics = await system.serving.service.metricsText();
    expect(sample(metrics, "rakka_num_requests_running", { deployment: "single" })).toBe(0);
    expect(sample(metrics, "rakka_requests_total", { deployment: "single", outcome: "cancelled" })).toBe(1);
    // the slot is free: the next request is admitted and streams its first token
    const next = await post("/v1/chat/completions", {
      model: "single",
      stream: true,
      messages: [{ role: "user", content: "again" }],
    });
    expect(next.status).toBe(200);
    await next.body?.cancel();
  });

  it("refuses tools on a local model with 400 naming the field", async () => {
    const response = await post("/v1/chat/completions", {
      model: "echo",
      messages: [{ role: "user", content: "x" }],
      tools: [{ type: "function", function: { name: "f", parameters: {} } }],
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/^tools: /);
  });

  it.each([
    ["response_format json_object", { response_format: { type: "json_object" } }, "response_format"],
    ["reasoning_effort", { reasoning_effort: "low" }, "reasoning_effort"],
    [
      "an image part",
      {
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "what is this?" },
              { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
            ],
          },
        ],
      },
      "messages[0].content[1]",
    ],
  ])("refuses %s on a local model with 400 naming the field", async (_name, fields, field) => {
    const response = await post("/v1/chat/completions", {
      model: "echo",
      messages: [{ role: "user", content: "x" }],
      ...fields,
    });
    expect(response.status).toBe(400);
    const error = ((await response.json()) as { error: { message: string; code: string } }).error;
    expect(error.code).toBe("bad_request");
    expect(error.message.startsWith(`${field}: `)).toBe(true);
  });

  it("serves response_format text, reasoning_effort none and text-only content parts on a local model", async () => {
    const response = await post("/v1/chat/completions", {
      model: "echo",
      response_format: { type: "text" },
      reasoning_effort: "none",
      messages: [{ role: "user", content: [{ type: "text", text: "plain words" }] }],
    });
    expect(response.status).toBe(200);
  });

  it("readyz stays 200 and lists a failed deployment; requests to it get 503; /v1/models lists what serves", async () => {
    for (let i = 0; i < 4; i++) {
      const response = await post("/v1/chat/completions", {
        model: "poisoned",
        messages: [{ role: "user", content: "x" }],
      });
      expect(response.status).toBe(500);
      await flushMicrotasks();
    }
    const unavailable = await post("/v1/chat/completions", {
      model: "poisoned",
      messages: [{ role: "user", content: "x" }],
    });
    expect(unavailable.status).toBe(503);
    expect(((await unavailable.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    const ready = await fetch(`${listening.url}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as {
      deployments: Array<{ name: string; state: string; reason?: string }>;
    };
    expect(body.deployments.find((d) => d.name === "poisoned")).toMatchObject({ state: "failed" });
    expect(body.deployments.find((d) => d.name === "echo")).toMatchObject({ state: "serving" });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual(["echo", "single"]);
  });

  it("models.retrieve returns a serving deployment's model object; an unknown one is NotFoundError", async () => {
    const echo = await client.models.retrieve("echo");
    expect(echo).toMatchObject({ id: "echo", object: "model", owned_by: "rakka" });
    expect(typeof echo.created).toBe("number");
    const error = await client.models.retrieve("missing").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("not_found");
  });

  it("/metrics exposes the request, token and latency series, and they move", async () => {
    const before = await (await fetch(`${listening.url}/metrics`)).text();
    await client.chat.completions.create({
      model: "echo",
      messages: [{ role: "user", content: "m n" }],
      max_tokens: 2,
    });
    const scrape = await fetch(`${listening.url}/metrics`);
    expect(scrape.headers.get("content-type")).toContain("text/plain");
    const after = await scrape.text();
    const delta = (name: string, labels: Record<string, string>) =>
      (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    expect(delta("rakka_requests_total", { deployment: "echo", outcome: "success" })).toBe(1);
    expect(delta("rakka_tokens_total", { deployment: "echo", direction: "output" })).toBe(2);
    expect(delta("rakka_tokens_total", { deployment: "echo", direction: "input" })).toBe(2);
    expect(delta("rakka_e2e_request_latency_seconds_count", { deployment: "echo" })).toBe(1);
    expect(delta("rakka_time_to_first_token_seconds_count", { deployment: "echo" })).toBe(1);
    expect(delta("rakka_inter_token_latency_seconds_count", { deployment: "echo" })).toBe(1);
    expect(delta("rakka_request_queue_time_seconds_count", { deployment: "echo" })).toBe(1);
    expect(sample(after, "rakka_deployment_state", { deployment: "echo", state: "serving" })).toBe(1);
    expect(after).toContain("rakka_worker_rebuilds_total");
    expect(after).toContain("rakka_num_requests_waiting");
    // the process's own series, for a soak's memory over time
    expect(sample(after, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(sample(after, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
  });
});
