// `POST /v1/messages/count_tokens` through a real gateway on 127.0.0.1 over a fake service port
// (docs/api.md, "Anthropic Messages API"): the parsed request reaches countTokens, the answer is
// `{"input_tokens"}`, an estimate is flagged by header, and refusals and failures are Anthropic errors.

import Anthropic from "@anthropic-ai/sdk";
import { afterEach, describe, expect, it } from "vitest";
import type { CompletionResult, ServiceRequest } from "../../../core/dialect.js";
import type { EmbeddingRequest, EmbeddingResult, TokenCount } from "../../../core/embedding.js";
import { errors } from "../../../core/inference-error.js";
import { Secret } from "../../../core/secret.js";
import { ManualClock } from "../../../testkit/manual-clock.js";
import { createHttpGateway, type ListeningGateway } from "../../http/http-gateway.js";
import type { DeploymentStatus, InferenceServicePort, RequestHandle } from "../../service-types.js";
import { COUNT_TOKENS_PATH, countTokensRoute, ESTIMATED, TOKEN_COUNT_HEADER } from "./count-tokens-route.js";

/** A service that only counts: each call is recorded and answered with `next` (or its failure). */
class CountingService implements InferenceServicePort {
  readonly counted: ServiceRequest[] = [];
  next: TokenCount | Error = { inputTokens: 0, estimated: false };

  async countTokens(request: ServiceRequest): Promise<TokenCount> {
    this.counted.push(request);
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
  start(_request: ServiceRequest): RequestHandle {
    throw errors.internal("this fake only counts tokens");
  }
  async complete(_request: ServiceRequest): Promise<CompletionResult> {
    throw errors.internal("this fake only counts tokens");
  }
  async embed(_request: EmbeddingRequest): Promise<EmbeddingResult> {
    throw errors.internal("this fake only counts tokens");
  }
  async deployments(): Promise<readonly DeploymentStatus[]> {
    return [];
  }
  async metricsText(): Promise<string> {
    return "";
  }
}

let running: ListeningGateway[] = [];

afterEach(async () => {
  await Promise.all(running.map((gateway) => gateway.close()));
  running = [];
});

async function start(apiKeys: readonly string[] = []) {
  const service = new CountingService();
  const gateway = createHttpGateway({
    service,
    server: {
      apiKeys: apiKeys.map((key) => Secret.inline(key)),
      maxBodyBytes: 16 * 1024,
      bodyTimeoutMs: 30_000,
      requestTimeoutMs: 600_000,
    },
    clock: new ManualClock(),
    routes: [countTokensRoute({ service })],
  });
  const listening = await gateway.listen("127.0.0.1", 0);
  running.push(listening);
  return { service, url: listening.url };
}

const body = {
  model: "claude",
  system: "Be brief.",
  messages: [{ role: "user", content: "How many tokens is this?" }],
  tools: [{ name: "look", input_schema: { type: "object" } }],
};

function post(url: string, json: unknown): Promise<Response> {
  return fetch(`${url}${COUNT_TOKENS_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof json === "string" ? json : JSON.stringify(json),
  });
}

describe("POST /v1/messages/count_tokens", () => {
  it("answers the service's count; the parsed request (no max_tokens, not streamed) reached it", async () => {
    const { service, url } = await start();
    service.next = { inputTokens: 17, estimated: false };
    const response = await post(url, body);
    expect(response.status).toBe(200);
    expect(response.headers.get(TOKEN_COUNT_HEADER)).toBeNull();
    expect(await response.json()).toEqual({ input_tokens: 17 });
    expect(service.counted).toEqual([
      {
        model: "claude",
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", content: "How many tokens is this?" },
        ],
        sampling: {},
        stream: false,
        priority: 0,
        features: { tools: [{ name: "look", parameters: { type: "object" } }] },
      },
    ]);
  });

  it("an estimate is flagged with x-rakka-token-count: estimated, seen through the official SDK", async () => {
    const { service, url } = await start(["key-1"]);
    service.next = { inputTokens: 9, estimated: true };
    const client = new Anthropic({ apiKey: "key-1", baseURL: url, maxRetries: 0 });
    const { data, response } = await client.messages
      .countTokens({ model: "claude", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(data).toEqual({ input_tokens: 9 });
    expect(response.headers.get(TOKEN_COUNT_HEADER)).toBe(ESTIMATED);
  });

  it("a malformed body is a 400 invalid_request_error naming the field; the service is not called", async () => {
    const { service, url } = await start();
    const response = await post(url, {
      model: "claude",
      messages: [{ role: "user", content: [{ type: "video" }] }],
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      type: "error",
      error: {
        type: "invalid_request_error",
        message:
          'messages[0].content[0].type: "video" blocks are not supported: must be one of text, image, tool_use, tool_result, thinking, redacted_thinking',
      },
    });
    expect(service.counted).toEqual([]);
  });

  it("invalid JSON and a wrong method are answered in Anthropic's shape", async () => {
    const { url } = await start();
    const invalid = await post(url, "{not json");
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { type: string }).type).toBe("error");
    const get = await fetch(`${url}${COUNT_TOKENS_PATH}`);
    expect(get.status).toBe(405);
    expect(await get.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });

  it("the service's failure is its status with an Anthropic error: an unknown deployment is a 404", async () => {
    const { service, url } = await start();
    service.next = errors.notFound("model not found: nope");
    const response = await post(url, { ...body, model: "nope" });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      type: "error",
      error: { type: "not_found_error", message: "model not found: nope" },
    });
  });

  it("a wrong key is a 401 authentication_error", async () => {
    const { service, url } = await start(["key-1"]);
    const response = await fetch(`${url}${COUNT_TOKENS_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "wrong" },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({
      type: "error",
      error: { type: "authentication_error", message: "invalid API key" },
    });
    expect(service.counted).toEqual([]);
  });
});
