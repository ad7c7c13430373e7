import { describe, expect, it } from "vitest";
import { Channel, ChannelClosedError } from "./channel.js";

describe("Channel", () => {
  it("delivers items in order and ends when closed", async () => {
    const channel = new Channel<number>(2);
    const producing = (async () => {
      for (let i = 0; i < 10; i++) await channel.push(i);
      channel.close();
    })();
    const seen: number[] = [];
    for await (const item of channel) seen.push(item);
    await producing;
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("holds the producer back when full (backpressure)", async () => {
    const channel = new Channel<number>(2);
    expect(channel.offer(1)).toBe(true);
    expect(channel.offer(2)).toBe(true);
    expect(channel.offer(3)).toBe(false);
    let pushed = false;
    const pending = channel.push(3).then(() => {
      pushed = true;
    });
    await Promise.resolve();
    expect(pushed).toBe(false);
    expect(await channel.next()).toEqual({ value: 1, done: false });
    await pending;
    expect(pushed).toBe(true);
  });

  it("gives the consumer the producer's error after the queued items", async () => {
    const channel = new Channel<string>(4);
    await channel.push("a");
    channel.fail(new Error("engine died"));
    expect(await channel.next()).toEqual({ value: "a", done: false });
    await expect(channel.next()).rejects.toThrow("engine died");
  });

  it("cancel by the consumer rejects a waiting producer and later pushes", async () => {
    const channel = new Channel<number>(1);
    await channel.push(1);
    const waiting = channel.push(2);
    channel.cancel();
    await expect(waiting).rejects.toBeInstanceOf(ChannelClosedError);
    expect(() => channel.offer(3)).toThrow(ChannelClosedError);
    expect(channel.cancelled).toBe(true);
  });

  it("breaking out of for-await cancels the channel", async () => {
    const channel = new Channel<number>(4);
    await channel.push(1);
    await channel.push(2);
    for await (const _ of channel) break;
    expect(channel.cancelled).toBe(true);
  });
});
