// The gateway under the failures a heavy user and an attacker produce, over real HTTP: keep-alive
// connections reused after a failed stream lose nothing, deeply nested bodies are a 400 before any
// layer recurses on them, slow bodies and slow headers end in a 408 with the error body, oversize
// headers keep their 431, and a shutdown first answers /readyz with 503 `draining`.
import { connect, type Socket } from "node:net";
import OpenAI, { APIError } from "openai";
import { Agent, Pool, fetch as undiciFetch } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { createInferenceSystem, type InferenceSystem, Secret } from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { MAX_JSON_DEPTH } from "../../src/serving/http/json-depth.js";
import { ManualClock, until } from "../../src/testkit/manual-clock.js";
import { sample } from "./helpers.js";
import { startRemote } from "./remote-helpers.js";

let system: InferenceSystem | undefined;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await system?.close({ drainTimeoutMs: 0, drainDelayMs: 0 });
  system = undefined;
});

async function start(
  server: Record<string, unknown> = {},
  clock = new ManualClock(),
): Promise<{ gateway: ListeningGateway; clock: ManualClock }> {
  system = await createInferenceSystem({
    clock,
    server,
    deployments: [
      { name: "echo", model: "echo-1", runtime: "mock" },
      { name: "failing", model: "echo-1", runtime: "mock", runtime_config: { fail_after_tokens: 2 } },
    ],
  });
  return { gateway: await system.listen({ bind: "127.0.0.1:0" }), clock };
}

const chat = (model: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model, messages: [{ role: "user", content: "one two three" }], ...extra });

/** Opens a raw TCP connection and collects everything the server sends until it closes. */
function rawConnection(port: number): { socket: Socket; received: Promise<string> } {
  const socket = connect(port, "127.0.0.1");
  const received = new Promise<string>((resolve) => {
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.on("close", () => resolve(text));
    socket.on("error", () => undefined);
  });
  return { socket, received };
}

function jsonBodyOf(raw: string): { error: { message: string; type: string; code: string } } {
  return JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4));
}

describe("keep-alive connections after a failed stream", () => {
  it("50 failed streams alternating with 50 unary requests on one connection: no answer lost", async () => {
    const { gateway } = await start();
    const pool = new Pool(gateway.url, { connections: 1, pipelining: 1 });
    cleanups.push(() => pool.close());
    let connects = 0;
    pool.on("connect", () => {
      connects++;
    });
    let answered = 0;
    for (let round = 0; round < 50; round++) {
      const stream = await pool.request({
        path: "/v1/chat/completions",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: chat("failing", { stream: true }),
      });
      expect(stream.statusCode).toBe(200);
      const events = await stream.body.text();
      expect(events).toContain('"code":"server_error"');
      expect(events).not.toContain("[DONE]");
      const unary = await pool.request({
        path: "/v1/chat/completions",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: chat("echo", { max_tokens: 2 }),
      });
      expect(unary.statusCode).toBe(200);
      const body = (await unary.body.json()) as { choices: Array<{ message: { content: string } }> };
      expect(body.choices[0]?.message.content).toBe("one two");
      answered++;
    }
    expect(answered).toBe(50);
    // the one connection served all 100 requests: a failed stream does not spoil it
    expect(connects).toBe(1);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(sample(metrics, "rakka_requests_total", { deployment: "echo", outcome: "success" })).toBe(50);
    expect(sample(metrics, "rakka_requests_total", { deployment: "failing", outcome: "server_error" })).toBe(
      50,
    );
  });

  it("the openai SDK over a keep-alive agent: the stream throws the error, the next request succeeds", async () => {
    const { gateway } = await start();
    const agent = new Agent({ connections: 1, keepAliveTimeout: 60_000 });
    cleanups.push(() => agent.close());
    const client = new OpenAI({
      baseURL: `${gateway.url}/v1`,
      apiKey: "unused",
      maxRetries: 0,
      fetch: undiciFetch as unknown as typeof fetch,
      fetchOptions: { dispatcher: agent } as Record<string, unknown>,
    });
    for (let round = 0; round < 20; round++) {
      const stream = await client.chat.completions.create({
        model: "failing",
        messages: [{ role: "user", content: "one two three" }],
        stream: true,
      });
      const deltas: string[] = [];
      const failure = await (async () => {
        try {
          for await (const chunk of stream) deltas.push(chunk.choices[0]?.delta.content ?? "");
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(failure).toBeInstanceOf(APIError);
      expect(deltas.join("")).toBe("one two");
      const completion = await client.chat.completions.create({
        model: "echo",
        messages: [{ role: "user", content: "alpha beta" }],
        max_tokens: 2,
      });
      expect(completion.choices[0]?.message.content).toBe("alpha beta");
    }
  });
});

describe("nesting depth of request bodies", () => {
  const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;

  it("tools or response_format nested 100,000 levels deep to a remote deployment is a 400 naming the field", async () => {
    const remote = await startRemote({});
    cleanups.push(() => remote.close());
    for (const field of ["tools", "response_format"]) {
      const response = await fetch(`${remote.gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"model":"gpt","messages":[{"role":"user","content":"hi"}],"${field}":${deep(100_000)}}`,
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: { message: string; code: string } };
      expect(body.error.code).toBe("bad_request");
      expect(body.error.message).toBe(`${field}: nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    expect(remote.provider.requests).toHaveLength(0);
  });

  it("nesting within the limit reaches validation (which names the field's real problem)", async () => {
    const { gateway } = await start();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: `{"model":"echo","messages":[{"role":"user","content":"hi"}],"tools":[${deep(MAX_JSON_DEPTH - 3)}]}`,
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/^tools\[0\]: /);
  });

  it("an array body and the admin API get the same bound", async () => {
    const { gateway } = await start({ adminKey: Secret.inline("admin-secret") });
    const array = await fetch(`${gateway.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: deep(200_000),
    });
    expect(array.status).toBe(400);
    expect(((await array.json()) as { error: { message: string } }).error.message).toBe(
      `request body: nested deeper than ${MAX_JSON_DEPTH} levels`,
    );
    const admin = await fetch(`${gateway.url}/admin/v1/deployments`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer admin-secret" },
      body: `{"name":"x","model":"m","runtime":"mock","runtime_config":${deep(100_000)}}`,
    });
    expect(admin.status).toBe(400);
    expect(((await admin.json()) as { error: { message: string } }).error.message).toBe(
      `runtime_config: nested deeper than ${MAX_JSON_DEPTH} levels`,
    );
  });
});

describe("slow bodies and headers", () => {
  it("a body trickled past body_timeout_ms gets a 408 with the error body, and the connection closes", async () => {
    const { gateway, clock } = await start({ bodyTimeoutMs: 30_000 });
    const { socket, received } = rawConnection(gateway.port);
    socket.write(
      "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
    );
    await clock.nextTimerScheduled();
    await clock.advance(29_999);
    socket.write('"');
    await clock.advance(1);
    const raw = await received;
    expect(raw.startsWith("HTTP/1.1 408 ")).toBe(true);
    expect(raw.toLowerCase()).toContain("connection: close");
    expect(jsonBodyOf(raw).error).toMatchObject({
      code: "timeout",
      message: "request body not received within 30000 ms",
    });
  });

  it("the request deadline bounds the body when it is earlier than body_timeout_ms", async () => {
    const { gateway, clock } = await start({ bodyTimeoutMs: 30_000, requestTimeoutMs: 6_000 });
    const { socket, received } = rawConnection(gateway.port);
    socket.write("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n{");
    await clock.nextTimerScheduled();
    await clock.advance(6_000);
    const raw = await received;
    expect(raw.startsWith("HTTP/1.1 408 ")).toBe(true);
    expect(jsonBodyOf(raw).error.message).toBe("request body not received within 6000 ms");
  });

  it("a body that arrives in time is served and its timer is gone", async () => {
    const { gateway, clock } = await start({ bodyTimeoutMs: 30_000 });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chat("echo", { max_tokens: 1 }),
    });
    expect(response.status).toBe(200);
    await response.text();
    await until(() => !clock.hasTimerAt(clock.now() + 30_000));
  });

  it("headers trickled past body_timeout_ms get a 408 with the error body (node's header clock: real time)", async () => {
    const { gateway } = await start({ bodyTimeoutMs: 300 });
    const { socket, received } = rawConnection(gateway.port);
    socket.write("POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n");
    const raw = await received;
    expect(raw.startsWith("HTTP/1.1 408 ")).toBe(true);
    expect(jsonBodyOf(raw).error.code).toBe("timeout");
  });

  it("oversize headers are still refused with 431, now with the error body", async () => {
    const { gateway } = await start();
    const { socket, received } = rawConnection(gateway.port);
    socket.write(`GET /healthz HTTP/1.1\r\nhost: x\r\nx-flood: ${"a".repeat(64 * 1024)}\r\n\r\n`);
    const raw = await received;
    expect(raw.startsWith("HTTP/1.1 431 ")).toBe(true);
    expect(jsonBodyOf(raw).error.code).toBe("bad_request");
  });
});

describe("drain is visible", () => {
  it("during drain_delay_ms /readyz answers 503 draining while requests are served; then the listener closes", async () => {
    const { gateway, clock } = await start({ drainDelayMs: 5_000 });
    expect((await fetch(`${gateway.url}/readyz`)).status).toBe(200);
    const closing = system?.close({ drainTimeoutMs: 0 });
    await until(() => clock.hasTimerAt(clock.now() + 5_000));
    const ready = await fetch(`${gateway.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { status: string }).status).toBe("draining");
    const served = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: chat("echo", { max_tokens: 1 }),
    });
    expect(served.status).toBe(200);
    await served.text();
    await clock.advance(5_000);
    await closing;
    system = undefined;
    await expect(fetch(`${gateway.url}/healthz`)).rejects.toThrow();
  });
});
