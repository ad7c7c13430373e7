import { describe, expect, it } from "vitest";
import { Channel, ChannelClosedError } from "../../core/channel.js";
import type { TokenChunk } from "../../core/token-chunk.js";
import { AttemptSink } from "./attempt-sink.js";

function setup(alreadyCommitted = false, capacity = 8) {
  const client = new Channel<TokenChunk>(capacity);
  let now = 1000;
  const events: Array<string> = [];
  const sink = new AttemptSink(client, () => now, alreadyCommitted, {
    committed: (at) => events.push(`committed@${at}`),
    ended: (end) => events.push(end.error === undefined ? "closed" : `failed:${String(end.error)}`),
  });
  return { client, sink, events, tick: (ms: number) => (now += ms) };
}

async function drain(client: Channel<TokenChunk>): Promise<string[]> {
  const texts: string[] = [];
  while (client.size > 0) texts.push(((await client.next()).value as TokenChunk).text);
  return texts;
}

describe("AttemptSink", () => {
  it("holds empty chunks back until the first content, then tells the commit once", async () => {
    const { client, sink, events } = setup();
    expect(sink.offer({ text: "" })).toBe(true);
    expect(client.size).toBe(0);
    expect(events).toEqual([]);
    sink.offer({ text: "a" });
    sink.offer({ text: "b" });
    expect(events).toEqual(["committed@1000"]);
    expect(await drain(client)).toEqual(["a", "b"]);
  });

  it("records usage, content chunks, the finish and inter-token gaps", () => {
    const { sink, tick } = setup();
    sink.offer({ text: "a" });
    tick(30);
    sink.offer({ text: "b" });
    tick(20);
    sink.offer({ text: "", finishReason: "length", usage: { inputTokens: 3, outputTokens: 2 } });
    expect(sink.contentChunks).toBe(2);
    expect(sink.finished).toBe(true);
    expect(sink.usage).toEqual({ inputTokens: 3, outputTokens: 2 });
    expect(sink.interTokenMs).toEqual([30]);
  });

  it("a generation with no content at all still ends: the final chunk goes out", async () => {
    const { client, sink, events } = setup();
    sink.offer({ text: "", finishReason: "stop", usage: { inputTokens: 0, outputTokens: 0 } });
    sink.close();
    expect(events).toEqual(["committed@1000", "closed"]);
    expect(client.size).toBe(1);
  });

  it("reports the end once, and refuses writes after it or after abandon", () => {
    const { sink, events } = setup();
    sink.fail(new Error("boom"));
    sink.close();
    expect(events).toEqual(["failed:Error: boom"]);
    expect(() => sink.offer({ text: "late" })).toThrow(ChannelClosedError);
    const other = setup();
    other.sink.abandon();
    expect(() => other.sink.offer({ text: "x" })).toThrow(ChannelClosedError);
  });

  it("passes the client's backpressure to the engine, and a client that left ends the attempt", async () => {
    const { client, sink, events } = setup(true, 1);
    expect(sink.offer({ text: "a" })).toBe(true);
    expect(sink.offer({ text: "b" })).toBe(false); // full: the engine awaits push
    const pushed = sink.push({ text: "b" });
    await client.next();
    await pushed;
    expect(sink.contentChunks).toBe(2);
    client.cancel();
    expect(() => sink.offer({ text: "c" })).toThrow(ChannelClosedError);
    expect(events.at(-1)).toMatch(/^failed:ChannelClosedError/);
  });
});
