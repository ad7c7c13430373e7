import { gzipSync } from "node:zlib";
import { MockAgent, Pool } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { errors, InferenceError } from "../core/inference-error.js";
import { ManualClock } from "../testkit/manual-clock.js";
import { type MockProvider, stallBeforeFirstByte, startMockProvider } from "../testkit/mock-provider.js";
import { callUpstreamUnary, type UnaryAttemptResult } from "./upstream-unary-call.js";

const ORIGIN = "http://upstream.test";
const timeouts = { firstByteTimeoutMs: 60_000, readTimeoutMs: 30_000 };

let agent: MockAgent | undefined;
let provider: MockProvider | undefined;
let pool: Pool | undefined;
afterEach(async () => {
  await agent?.close();
  await pool?.close();
  await provider?.close();
  agent = undefined;
  pool = undefined;
  provider = undefined;
});

const mapped: string[] = [];
const mapError = (status: number, _headers: unknown, body: string) => {
  mapped.push(body);
  return errors.badRequest(`upstream ${status}: ${body}`);
};
const parse = (body: string): number => {
  const value = (JSON.parse(body) as { n?: unknown }).n;
  if (typeof value !== "number") throw errors.serverError("no n", 200);
  return value;
};

async function attempt(
  status: number,
  body: string | Buffer,
  headers: Record<string, string>,
  extra: { maxBytes?: number; parse?: (body: string) => number } = {},
): Promise<UnaryAttemptResult<number>> {
  agent = new MockAgent();
  agent.disableNetConnect();
  agent.get(ORIGIN).intercept({ path: "/v1/embeddings", method: "POST" }).reply(status, body, { headers });
  return callUpstreamUnary({
    dispatcher: agent.get(ORIGIN),
    request: { path: "/v1/embeddings", headers: {}, body: "{}" },
    clock: new ManualClock(),
    timeouts,
    signal: new AbortController().signal,
    mapError,
    parse: extra.parse ?? parse,
    ...(extra.maxBytes === undefined ? {} : { maxBytes: extra.maxBytes }),
  });
}

const json = { "content-type": "application/json" };
const failure = (result: UnaryAttemptResult<number>) => (result.type === "failed" ? result.error : undefined);

describe("callUpstreamUnary", () => {
  it("reads a JSON answer, plain or gzip", async () => {
    expect(await attempt(200, '{"n":7}', json)).toEqual({ type: "completed", value: 7, status: 200 });
    const zipped = await attempt(200, gzipSync('{"n":8}'), { ...json, "content-encoding": "gzip" });
    expect(zipped).toEqual({ type: "completed", value: 8, status: 200 });
  });

  it("hands a non-2xx answer's body to the provider's mapError", async () => {
    const result = await attempt(400, '{"error":{"message":"no such model"}}', json);
    expect(failure(result)?.message).toBe('upstream 400: {"error":{"message":"no such model"}}');
    expect(result.status).toBe(400);
  });

  it("refuses a 2xx answer that is not JSON, or whose encoding it cannot decode", async () => {
    expect(failure(await attempt(200, "<html></html>", { "content-type": "text/html" }))?.message).toBe(
      "upstream answered content-type text/html, not JSON",
    );
    expect(failure(await attempt(200, "{}", { ...json, "content-encoding": "zstd" }))?.message).toBe(
      "upstream answered content-encoding zstd, which this gateway cannot decode",
    );
    expect(
      failure(await attempt(200, '{"n":1}', { "content-type": "application/problem+json" })),
    ).toBeUndefined();
  });

  it("keeps the parser's typed error, and turns anything else it throws into server_error", async () => {
    expect(failure(await attempt(200, "{}", json))?.message).toBe("no n");
    const thrown = failure(
      await attempt(200, "{}", json, {
        parse: () => {
          throw new Error("boom");
        },
      }),
    );
    expect(thrown).toBeInstanceOf(InferenceError);
    expect(thrown?.kind).toBe("server_error");
  });

  it("refuses an answer larger than its bound", async () => {
    const result = await attempt(200, `{"n":1,"pad":"${"x".repeat(100)}"}`, json, { maxBytes: 50 });
    expect(failure(result)?.message).toBe("upstream answer exceeds 50 bytes");
  });

  it("times out on the injected clock when no first byte comes, and is cancelled by its signal", async () => {
    provider = await startMockProvider();
    pool = new Pool(provider.url);
    const clock = new ManualClock();
    provider.script(stallBeforeFirstByte(), stallBeforeFirstByte());
    const call = (signal: AbortSignal) =>
      callUpstreamUnary({
        dispatcher: pool as Pool,
        request: { path: "/v1/embeddings", headers: { "content-type": "application/json" }, body: "{}" },
        clock,
        timeouts,
        signal,
        mapError,
        parse,
      });
    const timedOut = call(new AbortController().signal);
    await provider.waitForRequests(1);
    await clock.advance(timeouts.firstByteTimeoutMs);
    const result = await timedOut;
    expect(failure(result)?.details).toEqual({ kind: "timeout", phase: "first_byte" });

    const controller = new AbortController();
    const cancelled = call(controller.signal);
    await provider.waitForRequests(2);
    controller.abort();
    expect(await cancelled).toEqual({ type: "cancelled", status: undefined });
    await provider.waitForOpenConnections(0);
  });
});
