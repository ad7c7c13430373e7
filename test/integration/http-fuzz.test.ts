import http from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Secret } from "../../src/core/secret.js";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { type MockProvider, startMockProvider } from "../../src/testkit/mock-provider.js";

// Arbitrary bodies and headers thrown at POST /v1/chat/completions of the whole system (real
// HTTP, the mock runtime and a mock upstream behind it): every answer must be a well-formed HTTP
// response (the OpenAI error body for every non-2xx, never a 5xx for a client's mistake), and
// afterwards /healthz answers and a valid request still succeeds. Two gateways: a small body limit
// and no client keys; a large body limit (for deep nesting), a client key and a remote deployment.

const MAX_BODY_BYTES = 4096;
const WIDE_MAX_BODY_BYTES = 2 * 1024 * 1024;
const CLIENT_KEY = "sk-fuzz-client-key";

let system: InferenceSystem;
let listening: ListeningGateway;
let wideSystem: InferenceSystem;
let wide: ListeningGateway;
let upstream: MockProvider;
/** Keep-alive connections, so answers after errors are also read on reused connections. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

beforeAll(async () => {
  system = await createInferenceSystem({
    server: { maxBodyBytes: MAX_BODY_BYTES },
    deployments: [{ name: "echo", model: "echo-1", runtime: "mock", serving: { max_concurrent: 64 } }],
  });
  listening = await system.listen({ bind: "127.0.0.1:0" });
  upstream = await startMockProvider();
  wideSystem = await createInferenceSystem({
    server: { maxBodyBytes: WIDE_MAX_BODY_BYTES, apiKeys: [Secret.inline(CLIENT_KEY)] },
    deployments: [
      { name: "echo", model: "echo-1", runtime: "mock", serving: { max_concurrent: 64 } },
      {
        name: "remote",
        model: "mock-model",
        runtime: "openai-compatible",
        serving: { max_concurrent: 64 },
        runtime_config: { base_url: `${upstream.url}/v1`, retry: { max_retries: 0 } },
      },
    ],
  });
  wide = await wideSystem.listen({ bind: "127.0.0.1:0" });
});

afterAll(async () => {
  agent.destroy();
  await system.close({ drainTimeoutMs: 0 });
  await wideSystem.close({ drainTimeoutMs: 0 });
  await upstream.close();
});

const roles = ["system", "user", "assistant", "tool", "developer", "robot"];

/** Bodies near the schema, so validation is exercised deep inside, not only at the top. */
const nearValid = fc.record(
  {
    model: fc.oneof(fc.constant("echo"), fc.string(), fc.jsonValue()),
    messages: fc.oneof(
      fc.array(
        fc.record(
          {
            role: fc.oneof(fc.constantFrom(...roles), fc.jsonValue()),
            content: fc.oneof(
              fc.string(),
              fc.constant(null),
              fc.array(
                fc.oneof(
                  fc.record({ type: fc.constant("text"), text: fc.oneof(fc.string(), fc.jsonValue()) }),
                  fc.record({ type: fc.constant("image_url"), image_url: fc.record({ url: fc.webUrl() }) }),
                  fc.jsonValue(),
                ),
              ),
              fc.jsonValue(),
            ),
            tool_call_id: fc.string(),
            tool_calls: fc.jsonValue(),
          },
          { requiredKeys: ["role"] },
        ),
        { maxLength: 4 },
      ),
      fc.jsonValue(),
    ),
    stream: fc.oneof(fc.boolean(), fc.jsonValue()),
    stream_options: fc.oneof(fc.record({ include_usage: fc.boolean() }), fc.jsonValue()),
    max_tokens: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()),
    temperature: fc.oneof(fc.double(), fc.jsonValue()),
    stop: fc.oneof(fc.string(), fc.array(fc.string()), fc.jsonValue()),
    n: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.jsonValue()),
    logprobs: fc.oneof(fc.boolean(), fc.jsonValue()),
    priority: fc.oneof(fc.integer(), fc.jsonValue()),
  },
  { requiredKeys: [] },
);

/** Valid bodies, some with one field replaced by an arbitrary JSON value. */
const valid = fc.record(
  {
    model: fc.oneof(fc.constant("echo"), fc.string({ minLength: 1 })),
    messages: fc.array(fc.record({ role: fc.constantFrom("user", "system"), content: fc.string() }), {
      minLength: 1,
      maxLength: 3,
    }),
    stream: fc.boolean(),
    stream_options: fc.record({ include_usage: fc.boolean() }),
    max_tokens: fc.integer({ min: 1, max: 1000 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    some_future_field: fc.jsonValue(),
  },
  { requiredKeys: ["model", "messages"] },
);
const fields = [
  "model",
  "messages",
  "stream",
  "max_tokens",
  "temperature",
  "top_p",
  "stop",
  "n",
  "seed",
  "tools",
];
const mutated = fc
  .tuple(valid, fc.constantFrom(...fields), fc.jsonValue())
  .map(([value, field, replacement]) => ({ ...value, [field]: replacement }));

const body = fc.oneof(
  valid.map((value) => JSON.stringify(value)),
  mutated.map((value) => JSON.stringify(value)),
  nearValid.map((value) => JSON.stringify(value)),
  fc.string({ minLength: 3000, maxLength: 6000 }),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string(),
  fc.string({ unit: "binary", maxLength: 5000 }),
  fc.uint8Array({ maxLength: 6000 }),
);

const headers = fc.record(
  {
    "content-type": fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded"),
    "x-anything": fc
      .string({ unit: "grapheme-ascii", maxLength: 20 })
      .map((text) => text.replace(/[^\x20-\x7e]/g, "")),
  },
  { requiredKeys: [] },
);

async function checkResponse(response: Response): Promise<void> {
  expect(response.status).toBeGreaterThanOrEqual(200);
  expect(response.status).toBeLessThan(600);
  const text = await response.text();
  if (response.status >= 400) {
    expect(response.headers.get("content-type")).toBe("application/json");
    const json = JSON.parse(text) as { error: { message: unknown; type: unknown; code: unknown } };
    expect(typeof json.error.message).toBe("string");
    expect(typeof json.error.type).toBe("string");
    expect(typeof json.error.code).toBe("string");
    expect(response.status).toBeLessThan(500);
    return;
  }
  expect(response.status).toBe(200);
  if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
  } else {
    expect(JSON.parse(text).object).toBe("chat.completion");
  }
}

describe("the gateway under arbitrary bodies", () => {
  it("answers every body with a well-formed response and keeps serving", async () => {
    await fc.assert(
      fc.asyncProperty(body, headers, async (payload, extraHeaders) => {
        const response = await fetch(`${listening.url}/v1/chat/completions`, {
          method: "POST",
          headers: extraHeaders,
          body: payload,
        });
        await checkResponse(response);
      }),
      { numRuns: 1000, interruptAfterTimeLimit: 8000 },
    );
    const response = await fetch(`${listening.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "echo", messages: [{ role: "user", content: "hi" }], max_tokens: 1 }),
    });
    expect(response.status).toBe(200);
    expect(
      ((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message
        .content,
    ).toBe("hi");
  }, 90_000);
});

// ── raw HTTP, for framing and header control ──────────────────────────────────────────────────

interface Answer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * POSTs `body` to `url` over the keep-alive agent: with Content-Length, or chunked (one write per
 * piece of `pieces`, byte counts) when given. Resolves with the whole answer; fails after 10 s.
 */
function post(
  url: string,
  headers: Readonly<Record<string, string | string[]>>,
  body: string | Uint8Array,
  pieces?: readonly number[],
): Promise<Answer> {
  const bytes = typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: "POST",
        agent,
        headers: pieces === undefined ? { ...headers, "content-length": String(bytes.length) } : headers,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        response.on("error", reject);
      },
    );
    request.setTimeout(10_000, () => request.destroy(new Error(`no answer from ${url} within 10 s`)));
    request.on("error", reject);
    if (pieces === undefined) {
      request.end(bytes);
      return;
    }
    let offset = 0;
    for (const size of pieces) {
      if (offset >= bytes.length) break;
      request.write(bytes.subarray(offset, offset + Math.max(1, size)));
      offset += Math.max(1, size);
    }
    request.end(offset < bytes.length ? bytes.subarray(offset) : undefined);
  });
}

/** Every answer: a status a client understands; a non-2xx carries the OpenAI error body and is never a 5xx. */
function checkAnswer(answer: Answer): { code?: string } {
  expect(answer.status).toBeGreaterThanOrEqual(200);
  expect(answer.status).toBeLessThan(600);
  if (answer.status >= 300) {
    expect(answer.status, answer.body).toBeLessThan(500);
    expect(answer.headers["content-type"]).toBe("application/json");
    const json = JSON.parse(answer.body) as { error: { message: unknown; type: unknown; code: unknown } };
    expect(typeof json.error.message).toBe("string");
    expect(typeof json.error.type).toBe("string");
    expect(typeof json.error.code).toBe("string");
    return { code: json.error.code as string };
  }
  expect(answer.status).toBe(200);
  if (answer.headers["content-type"]?.startsWith("text/event-stream")) {
    expect(answer.body.endsWith("data: [DONE]\n\n")).toBe(true);
  } else {
    expect(JSON.parse(answer.body).object).toBe("chat.completion");
  }
  return {};
}

const chatUrl = (gateway: ListeningGateway) => `${gateway.url}/v1/chat/completions`;
const json = { "content-type": "application/json" };
const authorized = { ...json, authorization: `Bearer ${CLIENT_KEY}` };

/** Byte counts to cut a body into for chunked transfer encoding. */
const pieces = fc.option(fc.array(fc.integer({ min: 1, max: 2048 }), { minLength: 1, maxLength: 8 }), {
  nil: undefined,
});

describe("the gateway under arbitrary JSON values", () => {
  const serialised = (value: unknown): string => {
    try {
      return JSON.stringify(value) ?? "null";
    } catch {
      return "null";
    }
  };
  const fieldNames = ["model", "messages", "stream", "max_tokens", "tools", "response_format", "stop", "n"];
  const anyJson = fc.oneof(
    fc.jsonValue().map(serialised),
    fc.anything().map(serialised),
    fc
      .tuple(fc.constantFrom(...fieldNames), fc.anything(), fc.constantFrom("echo", "remote"))
      .map(([field, value, model]) =>
        serialised({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 2, [field]: value }),
      ),
  );

  it("answers every serialised value, on both gateways, with a well-formed answer and no 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(anyJson, fc.boolean(), pieces, async (body, onWide, split) => {
        const answer = onWide
          ? await post(chatUrl(wide), authorized, body, split)
          : await post(chatUrl(listening), json, body, split);
        checkAnswer(answer);
      }),
      { numRuns: 400, interruptAfterTimeLimit: 6000 },
    );
  }, 30_000);
});

describe("the gateway at its body limit", () => {
  /** A valid request of exactly `size` bytes (ASCII padding in the message). */
  const requestOfSize = (size: number): string => {
    const head = '{"model":"echo","max_tokens":1,"messages":[{"role":"user","content":"hi ';
    const tail = '"}]}';
    return `${head}${"x".repeat(Math.max(0, size - head.length - tail.length))}${tail}`;
  };

  it("serves a body of max_body_bytes and refuses one byte more with 413, with Content-Length or chunked", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: MAX_BODY_BYTES - 300, max: MAX_BODY_BYTES + 300 }),
        pieces,
        async (size, split) => {
          const body = requestOfSize(size);
          expect(body.length).toBe(size);
          const answer = await post(chatUrl(listening), json, body, split);
          const { code } = checkAnswer(answer);
          if (size <= MAX_BODY_BYTES) expect(answer.status, answer.body).toBe(200);
          else {
            expect(answer.status).toBe(413);
            expect(code).toBe("bad_request");
          }
        },
      ),
      {
        numRuns: 200,
        interruptAfterTimeLimit: 5000,
        examples: [
          [MAX_BODY_BYTES, undefined],
          [MAX_BODY_BYTES + 1, undefined],
          [MAX_BODY_BYTES + 1, [1000]],
        ],
      },
    );
  }, 30_000);
});

describe("the gateway under deeply nested JSON", () => {
  /** `depth` levels of arrays or objects, built as a string (cheap even at 200,000 levels). */
  const nested = (depth: number, shape: "array" | "object"): string =>
    shape === "array"
      ? `${"[".repeat(depth)}${"]".repeat(depth)}`
      : `${'{"a":'.repeat(depth)}0${"}".repeat(depth)}`;
  const messages = '[{"role":"user","content":"hi"}]';
  /** Where the nested value goes, and how many levels of the body lie above it. */
  const placements = {
    body: { above: 0, wrap: (_model: string, value: string) => value },
    field: {
      above: 1,
      wrap: (model: string, value: string) =>
        `{"model":"${model}","messages":${messages},"x_extra":${value}}`,
    },
    content: {
      above: 3,
      wrap: (model: string, value: string) =>
        `{"model":"${model}","messages":[{"role":"user","content":${value}}]}`,
    },
    tools: {
      above: 4,
      wrap: (model: string, value: string) =>
        `{"model":"${model}","messages":${messages},"tools":[{"type":"function","function":{"name":"f","parameters":${value}}}]}`,
    },
    response_format: {
      above: 3,
      wrap: (model: string, value: string) =>
        `{"model":"${model}","messages":${messages},"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":${value}}}}`,
    },
    stop: {
      above: 1,
      wrap: (model: string, value: string) => `{"model":"${model}","messages":${messages},"stop":${value}}`,
    },
  } as const;
  type Placement = keyof typeof placements;
  /** Far past any sane nesting limit: such a body must be refused with 400. */
  const CLEARLY_TOO_DEEP = 1000;

  async function sendNested(
    depth: number,
    shape: "array" | "object",
    placement: Placement,
    model: string,
    stream: boolean,
  ) {
    const value = nested(depth, shape);
    let body = placements[placement].wrap(model, value);
    if (stream && placement !== "body") body = `${body.slice(0, -1)},"stream":true,"max_tokens":2}`;
    const answer = await post(chatUrl(wide), authorized, body);
    const { code } = checkAnswer(answer);
    if (depth + placements[placement].above > CLEARLY_TOO_DEEP) {
      expect(answer.status, answer.body.slice(0, 300)).toBe(400);
      expect(code).toBe("bad_request");
    }
  }

  it("refuses 100,000 levels in tools and response_format to a remote deployment with 400, not a 500", async () => {
    for (const placement of ["tools", "response_format"] as const)
      for (const stream of [false, true]) await sendNested(100_000, "object", placement, "remote", stream);
  }, 20_000);

  it("answers nesting of 1 to 200,000 levels anywhere in the body with a well-formed answer and no 5xx", async () => {
    const depth = fc.oneof(
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 200_000 }),
      fc.constantFrom(127, 128, 129, 130, 1001, 100_000, 200_000),
    );
    await fc.assert(
      fc.asyncProperty(
        depth,
        fc.constantFrom("array", "object"),
        fc.constantFrom(...(Object.keys(placements) as Placement[])),
        fc.constantFrom("echo", "remote"),
        fc.boolean(),
        async (levels, shape, placement, model, stream) => {
          await sendNested(levels, shape, placement, model, stream);
        },
      ),
      { numRuns: 80, interruptAfterTimeLimit: 8000 },
    );
  }, 30_000);
});

describe("the gateway under arbitrary headers", () => {
  const key = CLIENT_KEY;
  const validAuthorization = fc.constantFrom(
    `Bearer ${key}`,
    `bearer ${key}`,
    `BEARER\t${key}`,
    `Bearer   ${key}  `,
  );
  const invalidAuthorization = fc.oneof(
    fc.constantFrom(
      undefined,
      "",
      "Bearer",
      "Bearer ",
      `Bearer ${key}x`,
      `Bearer ${key} extra`,
      `Token ${key}`,
      `Basic ${Buffer.from(`user:${key}`).toString("base64")}`,
      key,
    ),
    fc
      .string({ unit: "grapheme-ascii", maxLength: 40 })
      .map((text) => text.replace(/[^\x21-\x7e ]/g, "").trim()),
  );
  /** Names node sends and that change nothing about framing or routing. */
  const reserved = new Set([
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "expect",
    "upgrade",
    "te",
    "trailer",
    "content-type",
    "authorization",
    "proxy-authorization",
    "proxy-connection",
    "http2-settings",
  ]);
  const headerName = fc
    .stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,24}$/)
    .filter((name) => !reserved.has(name.toLowerCase()));
  const headerValue = fc.string({
    unit: fc
      .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constant(0x09), fc.integer({ min: 0x80, max: 0xff }))
      .map((code) => String.fromCharCode(code)),
    maxLength: 60,
  });
  const oddHeaders = fc.dictionary(
    headerName,
    fc.oneof(headerValue, fc.array(headerValue, { minLength: 1, maxLength: 3 })),
    {
      maxKeys: 8,
    },
  );
  const contentType = fc.oneof(
    fc.constantFrom(
      undefined,
      "application/json",
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "",
    ),
    headerValue,
  );
  const validBody = JSON.stringify({
    model: "echo",
    max_tokens: 2,
    messages: [{ role: "user", content: "hi there" }],
  });
  const bodies = fc.oneof(
    fc.constant(validBody),
    fc.constant(
      JSON.stringify({
        model: "remote",
        max_tokens: 2,
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      }),
    ),
    body,
  );

  it("answers any header set with a well-formed answer: 401 for a wrong key, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          validAuthorization.map((value) => ({ value, valid: true })),
          invalidAuthorization.map((value) => ({ value, valid: false })),
        ),
        contentType,
        oddHeaders,
        bodies,
        pieces,
        async (authorization, type, extra, payload, split) => {
          const headers: Record<string, string | string[]> = { ...extra };
          if (type !== undefined) headers["content-type"] = type;
          if (authorization.value !== undefined) headers.authorization = authorization.value;
          const answer = await post(chatUrl(wide), headers, payload, split);
          const { code } = checkAnswer(answer);
          if (authorization.valid) expect(answer.status, answer.body).not.toBe(401);
          else {
            expect(answer.status).toBe(401);
            expect(code).toBe("unauthorized");
            expect(answer.headers["www-authenticate"]).toBe("Bearer");
          }
          if (
            authorization.valid &&
            payload === validBody &&
            (type === undefined || type.toLowerCase().startsWith("application/json"))
          )
            expect(answer.status, answer.body).toBe(200);
        },
      ),
      { numRuns: 300, interruptAfterTimeLimit: 6000 },
    );
  }, 30_000);
});

describe("after the fuzzing", () => {
  it("both gateways are alive: /healthz answers and a valid request succeeds", async () => {
    for (const gateway of [listening, wide]) {
      const health = await fetch(`${gateway.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });
    }
    const answer = await post(
      chatUrl(wide),
      authorized,
      JSON.stringify({ model: "remote", max_tokens: 2, messages: [{ role: "user", content: "hi" }] }),
    );
    expect(answer.status, answer.body).toBe(200);
    checkAnswer(answer);
  });
});
