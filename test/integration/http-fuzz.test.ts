import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http-gateway.js";

// Arbitrary bodies and headers thrown at POST /v1/chat/completions of the whole system (real
// HTTP, the mock runtime behind it): every answer must be a well-formed HTTP response (a JSON
// error body for 4xx), and afterwards a valid request still succeeds.

let system: InferenceSystem;
let listening: ListeningGateway;

beforeAll(async () => {
  system = await createInferenceSystem({
    server: { maxBodyBytes: 4096 },
    deployments: [{ name: "echo", model: "echo-1", runtime: "mock", serving: { max_concurrent: 64 } }],
  });
  listening = await system.listen({ bind: "127.0.0.1:0" });
});

afterAll(async () => {
  await system.close({ drainTimeoutMs: 0 });
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
      { numRuns: 1000, interruptAfterTimeLimit: 60_000 },
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
