import { brotliCompressSync, gzipSync } from "node:zlib";
import { MockAgent } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { ExecuteBatch } from "../core/batch.js";
import { errors } from "../core/inference-error.js";
import type { TokenChunk } from "../core/token-chunk.js";
import { ManualClock } from "../testkit/manual-clock.js";
import type { ProviderAdapter } from "./provider.js";
import { OpenAiStreamDecoder } from "./providers/openai/openai-stream-decoder.js";
import { type AttemptResult, callUpstream } from "./upstream-call.js";

const ORIGIN = "http://upstream.test";

const sse = [
  { choices: [{ index: 0, delta: { role: "assistant", content: "Hi" }, finish_reason: null }] },
  { choices: [{ index: 0, delta: { content: " there" }, finish_reason: "stop" }] },
]
  .map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`)
  .concat("data: [DONE]\n\n")
  .join("");

let agent: MockAgent | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
});

/** The error bodies mapError saw, so a test can check what reached the classifier. */
const errorBodies: string[] = [];

const adapter = {
  createDecoder: () => new OpenAiStreamDecoder(),
  mapError: (status: number, _headers: unknown, body: string) => {
    errorBodies.push(body);
    return errors.serverError(`upstream ${status}: ${body}`, status);
  },
} as unknown as ProviderAdapter;

async function attempt(
  status: number,
  body: string | Buffer,
  headers: Record<string, string>,
): Promise<{ result: AttemptResult; chunks: TokenChunk[] }> {
  agent = new MockAgent();
  agent.disableNetConnect();
  agent
    .get(ORIGIN)
    .intercept({ path: "/v1/chat/completions", method: "POST" })
    .reply(status, body, { headers });
  const chunks: TokenChunk[] = [];
  const result = await callUpstream({
    dispatcher: agent.get(ORIGIN),
    adapter,
    request: { path: "/v1/chat/completions", headers: {}, body: "{}" },
    batch,
    clock: new ManualClock(),
    timeouts: { firstByteTimeoutMs: 60_000, readTimeoutMs: 30_000 },
    signal: new AbortController().signal,
    onChunk: (chunk) => {
      chunks.push(chunk);
    },
  });
  return { result, chunks };
}

const batch: ExecuteBatch = {
  requestId: "r-1",
  model: "m",
  messages: [{ role: "user", content: "hi" }],
  sampling: {},
  stream: true,
  priority: 0,
  estimatedTokens: 1,
  features: {},
  signal: new AbortController().signal,
};

const textOf = (chunks: readonly TokenChunk[]) => chunks.map((chunk) => chunk.text).join("");
const failure = (result: AttemptResult) => (result.type === "failed" ? result.error : undefined);

describe("callUpstream: content type", () => {
  it("fails a 200 text/html at once as server_error, reading no chunk; accepts text/event-stream in any case", async () => {
    const { result, chunks } = await attempt(200, "<html>hi</html>", { "content-type": "text/html" });
    expect(failure(result)?.details).toEqual({ kind: "server_error", status: 200 });
    expect(failure(result)?.message).toBe("upstream answered content-type text/html, not an event stream");
    expect(result.status).toBe(200);
    expect(chunks).toEqual([]);
    const accepted = await attempt(200, sse, { "content-type": "Text/Event-Stream ;charset=UTF-8" });
    expect(accepted.result.type).toBe("completed");
    expect(textOf(accepted.chunks)).toBe("Hi there");
  });
});

describe("callUpstream: content-encoding", () => {
  it("decodes several codings in reverse order of application (x-gzip, then br), skipping identity", async () => {
    const body = brotliCompressSync(gzipSync(sse));
    const { result, chunks } = await attempt(200, body, {
      "content-type": "text/event-stream",
      "content-encoding": "x-gzip, identity, BR",
    });
    expect(result.type).toBe("completed");
    expect(textOf(chunks)).toBe("Hi there");
  });

  it("refuses an unknown coding by name, quoted to 100 characters", async () => {
    const { result } = await attempt(200, sse, {
      "content-type": "text/event-stream",
      "content-encoding": `gzip, ${"z".repeat(150)}`,
    });
    expect(failure(result)?.message).toBe(
      `upstream answered content-encoding ${"z".repeat(100)}…, which this gateway cannot decode`,
    );
  });

  it("a body that does not decode is a server_error naming the coding, not a crash", async () => {
    const { result } = await attempt(200, sse, {
      "content-type": "text/event-stream",
      "content-encoding": "br",
    });
    expect(failure(result)?.kind).toBe("server_error");
    expect(failure(result)?.message).toMatch(/^upstream answered a br body that does not decode: /);
  });

  it("decodes a gzip error body before classifying it; an undecodable one reads as empty", async () => {
    errorBodies.length = 0;
    await attempt(503, gzipSync("overloaded"), { "content-encoding": "gzip" });
    await attempt(503, "plain", { "content-encoding": "gzip" });
    await attempt(503, "zstd bytes", { "content-encoding": "zstd" });
    expect(errorBodies).toEqual(["overloaded", "", ""]);
  });
});
