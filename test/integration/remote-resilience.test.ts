// The remote engine's failure handling (docs/providers.md), each behaviour through the gateway with the
// official openai client (retries off) against the testkit's mock provider, on the manual clock.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { until } from "../../src/testkit/manual-clock.js";
import {
  badRequest,
  complete,
  contentFiltered,
  contextLengthExceeded,
  dropMidStream,
  forbidden,
  rateLimited,
  serverError,
  stallBeforeFirstByte,
  stallMidStream,
  unauthorizedUnlessKey,
} from "../../src/testkit/mock-provider.js";
import { sample } from "./helpers.js";
import { advanceTo, ask, codeOf, type RemoteSetup, settle, startRemote, statusOf } from "./remote-helpers.js";

let setup: RemoteSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

describe("429 and Retry-After", () => {
  it("retries no sooner than Retry-After: 1 s, then succeeds", async () => {
    setup = await startRemote({});
    const s = setup;
    s.provider.script(rateLimited(1), complete({ content: ["fine"] }));
    const start = s.clock.now();
    const result = settle(ask(s));
    await s.provider.waitForRequests(1);
    await until(() => s.clock.hasTimerAt(start + 1000));
    await s.clock.advance(999);
    expect(s.provider.arrivals).toBe(1);
    await s.clock.advance(1);
    await s.provider.waitForRequests(2);
    await result.promise;
    expect(result.value?.choices[0]?.message.content).toBe("fine");
    const metrics = await s.system.serving.service.metricsText();
    expect(sample(metrics, "rakka_retries_total", { deployment: "gpt" })).toBe(1);
    expect(sample(metrics, "rakka_upstream_requests_total", { deployment: "gpt", status: "429" })).toBe(1);
    expect(sample(metrics, "rakka_upstream_requests_total", { deployment: "gpt", status: "200" })).toBe(1);
  });

  it("after max_retries the client gets 429 with Retry-After", async () => {
    setup = await startRemote({ runtimeConfig: { retry: { max_retries: 2 } } });
    const s = setup;
    s.provider.script(rateLimited(1), rateLimited(1), rateLimited(1));
    const result = settle(ask(s));
    for (let attempt = 1; attempt <= 2; attempt++) {
      await s.provider.waitForRequests(attempt);
      await advanceTo(s, s.clock.now() + 1000);
    }
    await result.promise;
    expect(result.error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((result.error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get("retry-after")).toBe(
      "1",
    );
    expect(codeOf(result.error)).toBe("rate_limited");
    expect(s.provider.arrivals).toBe(3);
  });

  it("a Retry-After that would pass the request deadline ends the request at once with 429", async () => {
    setup = await startRemote({ server: { requestTimeoutMs: 5000 } });
    const s = setup;
    s.provider.script(rateLimited(10));
    const error = await ask(s).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers?.get("retry-after")).toBe("10");
    expect(s.provider.arrivals).toBe(1);
  });
});

describe("circuit breaker", () => {
  const breaker = {
    retry: { max_retries: 0 },
    circuit_breaker: { failure_threshold: 3, open_duration_ms: 10_000 },
  };

  it("opens after failure_threshold consecutive 503s, fails fast, lets one probe through after open_duration_ms; success closes it", async () => {
    setup = await startRemote({ runtimeConfig: breaker });
    const s = setup;
    s.provider.script(serverError(503), serverError(503), serverError(503));
    for (let i = 0; i < 3; i++) expect(statusOf(await ask(s).catch((e: unknown) => e))).toBe(502);
    const open = await ask(s).catch((e: unknown) => e);
    expect(statusOf(open)).toBe(503);
    expect(codeOf(open)).toBe("circuit_open");
    expect((open as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after")).toBe("10");
    expect(s.provider.arrivals).toBe(3);
    const metrics = await s.system.serving.service.metricsText();
    expect(sample(metrics, "rakka_circuit_state", { deployment: "gpt" })).toBe(2);

    await s.clock.advance(10_000);
    s.provider.script(complete({ content: ["probe"] }), complete({ content: ["after"] }));
    expect((await ask(s)).choices[0]?.message.content).toBe("probe");
    expect((await ask(s)).choices[0]?.message.content).toBe("after");
    expect(s.provider.arrivals).toBe(5);
    expect(
      sample(await s.system.serving.service.metricsText(), "rakka_circuit_state", { deployment: "gpt" }),
    ).toBe(0);
  });

  it("a failed probe reopens the circuit", async () => {
    setup = await startRemote({ runtimeConfig: breaker });
    const s = setup;
    s.provider.script(serverError(503), serverError(503), serverError(503));
    for (let i = 0; i < 3; i++) await ask(s).catch(() => undefined);
    await s.clock.advance(10_000);
    s.provider.script(serverError(503));
    expect(statusOf(await ask(s).catch((e: unknown) => e))).toBe(502); // the probe
    expect(codeOf(await ask(s).catch((e: unknown) => e))).toBe("circuit_open");
    expect(s.provider.arrivals).toBe(4);
  });

  // the request slot is taken before the circuit check; a fail-fast gives it back, so the refusals
  // while open do not empty the bucket the half-open probe needs
  it("a request refused by the open circuit spends no requests_per_minute token", async () => {
    setup = await startRemote({
      runtimeConfig: {
        ...breaker,
        circuit_breaker: { failure_threshold: 1, open_duration_ms: 10_000 },
        rate_limits: { requests_per_minute: 2 },
      },
      deployment: { serving: { on_capacity_exhausted: "reject" } },
    });
    const s = setup;
    s.provider.script(serverError(503));
    expect(statusOf(await ask(s).catch((e: unknown) => e))).toBe(502); // opens it; one token left
    for (let i = 0; i < 4; i++) expect(codeOf(await ask(s).catch((e: unknown) => e))).toBe("circuit_open");
    expect(s.provider.arrivals).toBe(1);
    await s.clock.advance(10_000); // + 1/3 token
    s.provider.script(complete({ content: ["probe"] }));
    expect((await ask(s)).choices[0]?.message.content).toBe("probe");
    expect(s.provider.arrivals).toBe(2);
  });

  it("a circuit forced open answers Retry-After = open_duration_ms, however long it is held", async () => {
    setup = await startRemote({ runtimeConfig: breaker });
    const s = setup;
    const admin = s.system.serving.admin([]);
    expect(await admin.forceCircuit("gpt", "open")).toMatchObject({ ok: true });
    const open = await ask(s).catch((e: unknown) => e);
    expect(codeOf(open)).toBe("circuit_open");
    expect((open as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after")).toBe("10");
    await s.clock.advance(60_000); // held: no half-open after open_duration_ms
    const still = await ask(s).catch((e: unknown) => e);
    expect(codeOf(still)).toBe("circuit_open");
    expect((still as InstanceType<typeof OpenAI.APIError>).headers?.get("retry-after")).toBe("10");
    expect(s.provider.arrivals).toBe(0);
    expect(await admin.forceCircuit("gpt", "auto")).toMatchObject({ ok: true });
    expect((await ask(s)).choices[0]?.message.content).toBe("Hello world");
  });

  it("429s, other 4xx and cancellations count neither way", async () => {
    setup = await startRemote({ runtimeConfig: breaker });
    const s = setup;
    s.provider.script(
      rateLimited(),
      rateLimited(),
      rateLimited(),
      badRequest("nope"),
      forbidden(),
      badRequest("no"),
    );
    for (let i = 0; i < 6; i++) await ask(s).catch(() => undefined);
    for (let i = 0; i < 3; i++) {
      s.provider.script(stallBeforeFirstByte());
      const controller = new AbortController();
      const aborted = s.client.chat.completions
        .create({ model: "gpt", messages: [{ role: "user", content: "x" }] }, { signal: controller.signal })
        .catch(() => undefined);
      await s.provider.waitForRequests(7 + i);
      controller.abort();
      await aborted;
    }
    await until(() => s.system.serving.service.inFlight === 0);
    const metrics = await s.system.serving.service.metricsText();
    expect(sample(metrics, "rakka_requests_total", { deployment: "gpt", outcome: "cancelled" })).toBe(3);
    s.provider.setDefault(complete({ content: ["still closed"] }));
    expect((await ask(s)).choices[0]?.message.content).toBe("still closed");
  });
});

describe("timeouts", () => {
  const timeouts = {
    timeouts: { first_byte_timeout_ms: 1000, read_timeout_ms: 500 },
    retry: { max_retries: 1 },
  };

  it("a first-byte timeout is retried, then the client gets 504", async () => {
    setup = await startRemote({ runtimeConfig: timeouts });
    const s = setup;
    s.provider.script(stallBeforeFirstByte(), stallBeforeFirstByte());
    const result = settle(ask(s));
    await s.provider.waitForRequests(1);
    await advanceTo(s, s.clock.now() + 1000);
    await advanceTo(s, s.clock.now() + 250); // backoff: 500 ms × jitter 0.5
    await s.provider.waitForRequests(2);
    await advanceTo(s, s.clock.now() + 1000);
    await result.promise;
    expect(statusOf(result.error)).toBe(504);
    expect(codeOf(result.error)).toBe("timeout");
    await s.provider.waitForOpenConnections(0);
  });

  it("an inter-chunk read timeout before any content is retried, then 504", async () => {
    setup = await startRemote({ runtimeConfig: timeouts });
    const s = setup;
    s.provider.script(complete({ pauseAfterEvents: 1 }), complete({ pauseAfterEvents: 1 }));
    const result = settle(ask(s));
    await s.provider.waitForRequests(1);
    await advanceTo(s, s.clock.now() + 500);
    await advanceTo(s, s.clock.now() + 250);
    await s.provider.waitForRequests(2);
    await advanceTo(s, s.clock.now() + 500);
    await result.promise;
    expect(statusOf(result.error)).toBe(504);
    expect(s.provider.arrivals).toBe(2);
  });
});

describe("credentials", () => {
  it("on 401 the session re-reads the secret file and retries once; in-flight requests on the old key complete", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rakka-key-"));
    const keyFile = join(dir, "key");
    await writeFile(keyFile, "key-1\n");
    setup = await startRemote({ apiKey: { from_file: keyFile } });
    const s = setup;
    let resume: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      resume = resolve;
    });
    s.provider.script(
      unauthorizedUnlessKey(
        "key-1",
        complete({ content: ["old", " key"], pauseAfterEvents: 2, resume: gate }),
      ),
    );
    const inFlight = settle(ask(s));
    await s.provider.waitForRequests(1);
    await writeFile(keyFile, "key-2\n");
    s.provider.setDefault(unauthorizedUnlessKey("key-2", complete({ content: ["new key"] })));
    expect((await ask(s)).choices[0]?.message.content).toBe("new key");
    expect(s.provider.requests.map((r) => r.apiKey)).toEqual(["key-1", "key-1", "key-2"]);
    resume();
    await inFlight.promise;
    expect(inFlight.value?.choices[0]?.message.content).toBe("old key");
  });

  it("a 401 that persists after the rebuild reaches the client as 502 upstream_unauthorized, never 401", async () => {
    setup = await startRemote({ apiKey: "sk-wrong" });
    const s = setup;
    s.provider.setDefault(unauthorizedUnlessKey("sk-right"));
    const error = await ask(s).catch((e: unknown) => e);
    expect(statusOf(error)).toBe(502);
    expect(codeOf(error)).toBe("upstream_unauthorized");
    expect(s.provider.arrivals).toBe(2);
  });
});

describe("errors that are never retried", () => {
  it("a failure after tokens reached the client ends the stream with an SSE error event and no [DONE]", async () => {
    setup = await startRemote({});
    const s = setup;
    s.provider.script(dropMidStream(2));
    const response = await fetch(`${s.gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt", stream: true, messages: [{ role: "user", content: "x" }] }),
    });
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toContain('"content":"chunk1"');
    expect(body).toMatch(
      /data: \{"error":\{"message":"[^"]+","type":"upstream_error","code":"network_error"\}\}/,
    );
    expect(body).not.toContain("[DONE]");
    expect(s.provider.arrivals).toBe(1);
  });

  it("a stall after content, for a streaming client, is an SSE timeout error without retry", async () => {
    setup = await startRemote({ runtimeConfig: { timeouts: { read_timeout_ms: 500 } } });
    const s = setup;
    s.provider.script(stallMidStream(1));
    const response = fetch(`${s.gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt", stream: true, messages: [{ role: "user", content: "x" }] }),
    }).then((r) => r.text());
    await s.provider.waitForRequests(1);
    await advanceTo(s, s.clock.now() + 500);
    const body = await response;
    expect(body).toContain('"code":"timeout"');
    expect(body).not.toContain("[DONE]");
    expect(s.provider.arrivals).toBe(1);
  });

  it.each([
    ["content filter", contentFiltered(), 400, "content_filtered", "content management policy"],
    ["context length", contextLengthExceeded(), 400, "context_length_exceeded", "maximum context length"],
    ["bad request", badRequest("temperature is invalid"), 400, "bad_request", "temperature is invalid"],
    ["forbidden", forbidden(), 403, "forbidden", "upstream 403"],
  ])("%s → %i %s with the provider's message, no retry", async (_name, behaviour, status, code, text) => {
    setup = await startRemote({});
    const s = setup;
    s.provider.script(behaviour);
    const error = await ask(s).catch((e: unknown) => e);
    expect(statusOf(error)).toBe(status);
    expect(codeOf(error)).toBe(code);
    expect((error as Error).message).toContain(text);
    expect(s.provider.arrivals).toBe(1);
  });

  it("idempotent = false disables retries", async () => {
    setup = await startRemote({
      deployment: { idempotent: false },
      runtimeConfig: { retry: { max_retries: 3 } },
    });
    const s = setup;
    s.provider.script(serverError(503), complete());
    expect(statusOf(await ask(s).catch((e: unknown) => e))).toBe(502);
    expect(s.provider.arrivals).toBe(1);
  });
});

describe("rate limiter", () => {
  it("requests_per_minute = 60 with queue: 120 requests at t=0 → exactly 60 reach the upstream, 70 after 10 s", async () => {
    setup = await startRemote({
      runtimeConfig: { rate_limits: { requests_per_minute: 60 } },
      deployment: { serving: { max_concurrent: 128, queue_timeout_ms: 120_000 } },
    });
    const s = setup;
    const pending = Array.from({ length: 120 }, () => ask(s).catch(() => undefined));
    await s.provider.waitForRequests(60);
    await until(() => s.clock.hasTimerAt(s.clock.now() + 1000));
    expect(s.provider.arrivals).toBe(60);
    for (let second = 1; second <= 10; second++) await advanceTo(s, s.clock.now() + 1000);
    await s.provider.waitForRequests(70);
    await s.clock.advance(0);
    expect(s.provider.arrivals).toBe(70);
    void pending;
  });

  it("tokens_per_minute reserves the estimate at admission and refunds what the request did not use", async () => {
    // each request is estimated at ceil(11 / 4) + 100 = 103 tokens; the budget is 300
    setup = await startRemote({
      runtimeConfig: { rate_limits: { tokens_per_minute: 300 } },
      deployment: { serving: { on_capacity_exhausted: "reject" } },
    });
    const s = setup;
    s.provider.setDefault(complete({ usage: { prompt_tokens: 5, completion_tokens: 5 } }));
    for (let i = 0; i < 3; i++) await ask(s, { max_tokens: 100 });
    expect(s.provider.arrivals).toBe(3); // without the refunds the third would not fit (3 × 103 > 300)
  });

  it("tokens_per_minute charges usage beyond the estimate", async () => {
    setup = await startRemote({
      runtimeConfig: { rate_limits: { tokens_per_minute: 300 } },
      deployment: { serving: { on_capacity_exhausted: "reject" } },
    });
    const s = setup;
    s.provider.setDefault(complete({ usage: { prompt_tokens: 50, completion_tokens: 200 } }));
    await ask(s, { max_tokens: 100 });
    const second = await ask(s, { max_tokens: 100 }).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(OpenAI.RateLimitError); // 300 - 250 = 50 left < 103
    expect(s.provider.arrivals).toBe(1);
  });

  it("an upstream 429 halves the refill rate for max(Retry-After, 60 s)", async () => {
    setup = await startRemote({
      runtimeConfig: { rate_limits: { requests_per_minute: 60 }, retry: { max_retries: 0 } },
      deployment: { serving: { on_capacity_exhausted: "reject" } },
    });
    const s = setup;
    s.provider.setDefault(complete());
    s.provider.script(rateLimited(1));
    await ask(s).catch(() => undefined); // the 429: refill now 0.5 per second
    await Promise.all(Array.from({ length: 59 }, () => ask(s)));
    expect(statusOf(await ask(s).catch((e: unknown) => e))).toBe(429); // the bucket is empty
    await s.clock.advance(1000);
    expect(statusOf(await ask(s).catch((e: unknown) => e))).toBe(429); // half a token after 1 s
    await s.clock.advance(1000);
    await ask(s); // a whole token after 2 s
    await s.clock.advance(60_000); // the penalty is over: back to one per second
    await Promise.all(Array.from({ length: 30 }, () => ask(s)));
    await s.clock.advance(1000);
    await Promise.all(Array.from({ length: 30 }, () => ask(s)));
    expect(s.provider.arrivals).toBe(1 + 59 + 1 + 60);
  });
});
