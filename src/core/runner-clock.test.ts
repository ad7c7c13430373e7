import { describe, expect, it } from "vitest";
import { ManualClock } from "../testkit/manual-clock.js";
import { settledWithin, sleepOn } from "./runner-clock.js";

describe("sleepOn", () => {
  it("resolves true after the delay, false at once when aborted, and leaves no timer", async () => {
    const clock = new ManualClock(0);
    const slept = sleepOn(clock, 100);
    await clock.advance(100);
    expect(await slept).toBe(true);
    const controller = new AbortController();
    const aborted = sleepOn(clock, 100, controller.signal);
    controller.abort();
    expect(await aborted).toBe(false);
    expect(clock.hasTimerAt(200)).toBe(false);
  });
});

describe("settledWithin", () => {
  it("true when the promise settles first (rejections too), and cancels its timer", async () => {
    const clock = new ManualClock(0);
    expect(await settledWithin(clock, 50, Promise.resolve())).toBe(true);
    expect(await settledWithin(clock, 50, Promise.reject(new Error("x")))).toBe(true);
    expect(clock.hasTimerAt(50)).toBe(false);
  });

  it("false when the delay passes first", async () => {
    const clock = new ManualClock(0);
    const result = settledWithin(clock, 50, new Promise(() => {}));
    await clock.advance(50);
    expect(await result).toBe(false);
  });
});
