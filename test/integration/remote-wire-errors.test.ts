// What a client sees when a remote upstream's answer is not the plain event stream rakka expects
// (docs/providers.md): a 2xx that is not text/event-stream, gzip/br/deflate-encoded streams, an
// encoding rakka cannot decode, and an unknown model name too long to quote. Over real HTTP with the
// official openai client (retries off) against the testkit's mock provider, on the manual clock.
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import {
  complete,
  errorResponse,
  type MockContentEncoding,
  mislabelledEncoding,
  notAnEventStream,
  openAiErrorBody,
} from "../../src/testkit/mock-provider.js";
import { advanceTo, ask, codeOf, type RemoteSetup, settle, startRemote, statusOf } from "./remote-helpers.js";

/** Reads a stream's chunks until one carries text; returns that text ("" when the stream ended). */
async function firstText(
  iterator: AsyncIterator<{ choices: Array<{ delta: { content?: string | null } }> }>,
): Promise<string> {
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    const text = next.value.choices[0]?.delta.content ?? "";
    if (text !== "") return text;
  }
  return "";
}

let setup: RemoteSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

const messageOf = (error: unknown) => (error as Error).message;

/**
 * Settles a request whose every upstream attempt fails, stepping the clock over the retry backoffs:
 * with random() = 0.5 and full jitter, retry n waits 0.5 × 500 ms × 2^(n-1).
 */
async function failingThroughRetries<T>(s: RemoteSetup, request: Promise<T>, retries: number) {
  const result = settle(request);
  for (let retry = 1; retry <= retries; retry++) {
    await s.provider.waitForRequests(retry);
    await advanceTo(s, s.clock.now() + 250 * 2 ** (retry - 1));
  }
  await result.promise;
  return result;
}

const streamText = async (s: RemoteSetup): Promise<string> => {
  const stream = await s.client.chat.completions.create({
    model: "gpt",
    messages: [{ role: "user", content: "hello there" }],
    stream: true,
  });
  let text = "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
  return text;
};

describe("a 2xx answer that is not an event stream", () => {
  it("200 text/html: 502 naming text/html, retried max_retries times, never read as a stream", async () => {
    setup = await startRemote({ runtimeConfig: { retry: { max_retries: 2 } } });
    const s = setup;
    s.provider.setDefault(notAnEventStream());
    const result = await failingThroughRetries(s, ask(s), 2);
    expect(result.error).toBeInstanceOf(OpenAI.APIError);
    expect(statusOf(result.error)).toBe(502);
    expect(codeOf(result.error)).toBe("server_error");
    expect(messageOf(result.error)).toContain(
      "upstream answered content-type text/html; charset=utf-8, not an event stream",
    );
    expect(messageOf(result.error)).not.toContain("ended early");
    expect(s.provider.arrivals).toBe(3);
    // the media type is matched without case and parameters
    s.provider.script(complete({ content: ["fine"], contentType: "TEXT/Event-Stream; Charset=UTF-8" }));
    expect((await ask(s)).choices[0]?.message.content).toBe("fine");
  });

  it("200 application/json to a streaming client: 502 naming application/json, no retry when max_retries = 0", async () => {
    setup = await startRemote({ runtimeConfig: { retry: { max_retries: 0 } } });
    const s = setup;
    s.provider.script(notAnEventStream({ contentType: "application/json", body: '{"ok":true}' }));
    const error = await streamText(s).catch((e: unknown) => e);
    expect(statusOf(error)).toBe(502);
    expect(messageOf(error)).toContain(
      "upstream answered content-type application/json, not an event stream",
    );
    expect(s.provider.arrivals).toBe(1);
  });

  it("a missing content-type says so; a long one is quoted to 100 characters", async () => {
    setup = await startRemote({ runtimeConfig: { retry: { max_retries: 0 } } });
    const s = setup;
    const long = `text/plain; x=${"a".repeat(200)}`;
    s.provider.script(notAnEventStream({ contentType: undefined }), notAnEventStream({ contentType: long }));
    const missing = await ask(s).catch((e: unknown) => e);
    expect(messageOf(missing)).toContain("upstream answered no content-type, not an event stream");
    const cut = await ask(s).catch((e: unknown) => e);
    expect(messageOf(cut)).toContain(`content-type ${long.slice(0, 100)}…, not an event stream`);
    expect(messageOf(cut)).not.toContain(long.slice(0, 101));
  });
});

describe("content-encoding", () => {
  const encodings: MockContentEncoding[] = ["gzip", "br", "deflate"];

  it.each(encodings)("a %s-encoded stream reaches a streaming client decoded", async (encoding) => {
    setup = await startRemote({});
    const s = setup;
    s.provider.script(complete({ content: ["Grüße", ", ", "world"], contentEncoding: encoding }));
    expect(await streamText(s)).toBe("Grüße, world");
  });

  it.each(encodings)("a %s-encoded stream reaches a unary client decoded", async (encoding) => {
    setup = await startRemote({});
    const s = setup;
    s.provider.script(complete({ content: ["one", " two"], contentEncoding: encoding }));
    const completion = await ask(s);
    expect(completion.choices[0]?.message.content).toBe("one two");
    expect(completion.choices[0]?.finish_reason).toBe("stop");
  });

  it("a gzip stream is decoded as it arrives: the first token reaches the client before the rest is sent", async () => {
    setup = await startRemote({});
    const s = setup;
    let resume = () => {};
    const resumed = new Promise<void>((resolve) => {
      resume = resolve;
    });
    s.provider.script(
      complete({
        content: ["first", " second"],
        contentEncoding: "gzip",
        pauseAfterEvents: 2,
        resume: resumed,
      }),
    );
    const stream = await s.client.chat.completions.create({
      model: "gpt",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    const iterator = stream[Symbol.asyncIterator]();
    let text = await firstText(iterator);
    expect(text).toBe("first");
    resume();
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      text += next.value.choices[0]?.delta.content ?? "";
    expect(text).toBe("first second");
  });

  it("the read timeout still runs over a gzip stream: a stall after the first token ends it, the connection closes", async () => {
    setup = await startRemote({ runtimeConfig: { timeouts: { read_timeout_ms: 500 } } });
    const s = setup;
    s.provider.script(
      complete({ content: ["first", " never"], contentEncoding: "gzip", pauseAfterEvents: 2 }),
    );
    const stream = await s.client.chat.completions.create({
      model: "gpt",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    const iterator = stream[Symbol.asyncIterator]();
    let text = await firstText(iterator);
    expect(text).toBe("first");
    const rest = settle(
      (async () => {
        for (let next = await iterator.next(); !next.done; next = await iterator.next())
          text += next.value.choices[0]?.delta.content ?? "";
      })(),
    );
    await advanceTo(s, s.clock.now() + 500);
    await rest.promise;
    expect(messageOf(rest.error)).toContain("upstream stream stalled for 500 ms");
    expect(text).toBe("first");
    await s.provider.waitForOpenConnections(0);
  });

  it("zstd is refused by name with 502", async () => {
    setup = await startRemote({ runtimeConfig: { retry: { max_retries: 0 } } });
    const s = setup;
    s.provider.script(mislabelledEncoding("zstd"));
    const error = await ask(s).catch((e: unknown) => e);
    expect(statusOf(error)).toBe(502);
    expect(codeOf(error)).toBe("server_error");
    expect(messageOf(error)).toContain(
      "upstream answered content-encoding zstd, which this gateway cannot decode",
    );
    expect(s.provider.arrivals).toBe(1);
  });

  it("a body labelled gzip that is not gzip: 502 saying it does not decode, and the gateway keeps serving", async () => {
    setup = await startRemote({ runtimeConfig: { retry: { max_retries: 0 } } });
    const s = setup;
    s.provider.script(mislabelledEncoding("gzip"));
    const error = await streamText(s).catch((e: unknown) => e);
    expect(statusOf(error)).toBe(502);
    expect(messageOf(error)).toContain("upstream answered a gzip body that does not decode");
    expect((await ask(s)).choices[0]?.message.content).toBe("Hello world");
  });

  it("a gzip-encoded error body is decoded before it is classified", async () => {
    setup = await startRemote({ runtimeConfig: { retry: { max_retries: 0 } } });
    const s = setup;
    s.provider.script(
      errorResponse(400, {
        body: openAiErrorBody("temperature must be at most 2", "invalid_request_error"),
        contentEncoding: "gzip",
      }),
    );
    const error = await ask(s).catch((e: unknown) => e);
    expect(statusOf(error)).toBe(400);
    expect(messageOf(error)).toContain("temperature must be at most 2");
  });
});

describe("an unknown model", () => {
  it("a 300-character name: 404 quoting at most 256 characters of it, then …; a short name whole", async () => {
    setup = await startRemote({});
    const s = setup;
    const name = `m${"x".repeat(298)}z`;
    const error = await ask(s, { model: name }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const message = messageOf(error);
    expect(message).toContain(`${name.slice(0, 256)}…`);
    expect(message).not.toContain(name.slice(0, 257));
    const short = await ask(s, { model: "nope" }).catch((e: unknown) => e);
    expect(statusOf(short)).toBe(404);
    expect(messageOf(short)).toContain("The model `nope` does not exist");
    expect(s.provider.arrivals).toBe(0);
  });
});
