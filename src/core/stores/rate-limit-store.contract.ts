// The behaviour every RateLimitStore must have, as one vitest suite each implementation runs:
// memory-rate-limit-store.test.ts and redis-rate-limit-store.test.ts.
// Call it with a factory that returns a fresh, empty store for each test.

import { describe, expect, it } from "vitest";
import type { BucketLimits, RateLimitStore } from "./rate-limit-store.js";

/** An RPM limit as RateLimiterActor builds it: capacity = rpm, refilled at rpm / 60 per second. */
const rpm = (perMinute: number, now: number): BucketLimits => ({
  capacity: perMinute,
  refillPerSecond: perMinute / 60,
  now,
});

/** The two buckets of one admission, as RateLimiterActor asks for them. */
const admission = (now: number, tokens: number) => [
  { key: "k|rpm", ...rpm(30, now), amount: 1 },
  { key: "k|tpm", ...rpm(3_000, now), amount: tokens },
];

export function rateLimitStoreContract(
  name: string,
  create: () => Promise<RateLimitStore> | RateLimitStore,
): void {
  describe(`${name} (RateLimitStore contract)`, () => {
    it("a new bucket starts full", async () => {
      const store = await create();
      expect(await store.peek("k", rpm(60, 0))).toBe(60);
      expect(await store.tryAcquire("k", { ...rpm(60, 0), amount: 60 })).toEqual({
        granted: true,
        remaining: 0,
        retryAfterMs: 0,
      });
    });

    it("grants until the bucket is empty, then refuses", async () => {
      const store = await create();
      const limits = { capacity: 3, refillPerSecond: 1, now: 0, amount: 1 };
      const remaining: number[] = [];
      for (let i = 0; i < 3; i++) {
        const result = await store.tryAcquire("k", limits);
        expect(result.granted).toBe(true);
        remaining.push(result.remaining);
      }
      expect(remaining).toEqual([2, 1, 0]);
      expect(await store.tryAcquire("k", limits)).toEqual({
        granted: false,
        remaining: 0,
        retryAfterMs: 1000,
      });
    });

    it("refills exactly rpm/60 tokens per second", async () => {
      const store = await create();
      await store.tryAcquire("k", { ...rpm(600, 0), amount: 600 });
      expect(await store.peek("k", rpm(600, 1_000))).toBe(10);
      expect((await store.tryAcquire("k", { ...rpm(600, 1_000), amount: 10 })).granted).toBe(true);
      expect((await store.tryAcquire("k", { ...rpm(600, 1_000), amount: 1 })).granted).toBe(false);
    });

    it("refills continuously, with fractions of a token", async () => {
      const store = await create();
      await store.tryAcquire("k", { ...rpm(90, 0), amount: 90 });
      expect(await store.peek("k", rpm(90, 500))).toBeCloseTo(0.75, 9);
      expect((await store.tryAcquire("k", { ...rpm(90, 2_000), amount: 3 })).granted).toBe(true);
      expect(await store.tryAcquire("k", { ...rpm(90, 2_000), amount: 1 })).toEqual({
        granted: false,
        remaining: 0,
        retryAfterMs: 667,
      });
    });

    it("a limit whose rate is not a whole number per second grants one token after exactly 60000/rpm ms", async () => {
      const store = await create();
      await store.tryAcquire("k", { ...rpm(100, 0), amount: 100 });
      const denied = await store.tryAcquire("k", { ...rpm(100, 0), amount: 1 });
      expect(denied.retryAfterMs).toBe(600);
      expect((await store.tryAcquire("k", { ...rpm(100, 599), amount: 1 })).granted).toBe(false);
      expect((await store.tryAcquire("k", { ...rpm(100, 600), amount: 1 })).granted).toBe(true);
    });

    it("a 1 rpm limit refilled in uneven steps grants again exactly 60 s after it emptied", async () => {
      const store = await create();
      await store.tryAcquire("k", { ...rpm(1, 0), amount: 1 });
      // A refused acquire at 4 ms stores a partial refill; the rest must still add up to one token.
      expect((await store.tryAcquire("k", { ...rpm(1, 4), amount: 1 })).retryAfterMs).toBe(59_996);
      expect(await store.peek("k", rpm(1, 59_999))).toBeLessThan(1);
      expect((await store.tryAcquire("k", { ...rpm(1, 60_000), amount: 1 })).granted).toBe(true);
    });

    it("refill never lifts the bucket past capacity", async () => {
      const store = await create();
      await store.tryAcquire("k", { ...rpm(60, 0), amount: 30 });
      expect(await store.peek("k", rpm(60, 3_600_000))).toBe(60);
      expect((await store.tryAcquire("k", { ...rpm(60, 3_600_000), amount: 61 })).granted).toBe(false);
    });

    it("a refused acquire takes nothing and says how long until the amount is there", async () => {
      const store = await create();
      const limits = { capacity: 10, refillPerSecond: 2, now: 0 };
      await store.tryAcquire("k", { ...limits, amount: 7 });
      expect(await store.tryAcquire("k", { ...limits, amount: 5 })).toEqual({
        granted: false,
        remaining: 3,
        retryAfterMs: 1_000,
      });
      expect(await store.peek("k", limits)).toBe(3);
      expect(await store.tryAcquire("k", { ...limits, amount: 3 })).toEqual({
        granted: true,
        remaining: 0,
        retryAfterMs: 0,
      });
    });

    it("waiting retryAfterMs is enough and one ms less is not", async () => {
      const store = await create();
      const limits = { capacity: 20, refillPerSecond: 3, now: 0 };
      await store.tryAcquire("k", { ...limits, amount: 20 });
      const { retryAfterMs } = await store.tryAcquire("k", { ...limits, amount: 4 });
      expect(retryAfterMs).toBe(1_334);
      expect((await store.tryAcquire("k", { ...limits, now: retryAfterMs - 1, amount: 4 })).granted).toBe(
        false,
      );
      expect((await store.tryAcquire("k", { ...limits, now: retryAfterMs, amount: 4 })).granted).toBe(true);
    });

    it("an amount larger than capacity is never granted and takes nothing", async () => {
      const store = await create();
      const result = await store.tryAcquire("k", { capacity: 10, refillPerSecond: 1, now: 0, amount: 11 });
      expect(result).toEqual({ granted: false, remaining: 10, retryAfterMs: Number.POSITIVE_INFINITY });
      expect(await store.peek("k", { capacity: 10, refillPerSecond: 1, now: 0 })).toBe(10);
    });

    it("a bucket with no refill that is short never becomes available", async () => {
      const store = await create();
      const limits = { capacity: 2, refillPerSecond: 0, now: 0 };
      await store.tryAcquire("k", { ...limits, amount: 2 });
      expect((await store.tryAcquire("k", { ...limits, amount: 1 })).retryAfterMs).toBe(
        Number.POSITIVE_INFINITY,
      );
      expect((await store.tryAcquire("k", { ...limits, now: 1e9, amount: 1 })).granted).toBe(false);
    });

    it("an acquire of zero is always granted and takes nothing", async () => {
      const store = await create();
      const limits = { capacity: 5, refillPerSecond: 1, now: 0 };
      await store.tryAcquire("k", { ...limits, amount: 5 });
      expect(await store.tryAcquire("k", { ...limits, amount: 0 })).toEqual({
        granted: true,
        remaining: 0,
        retryAfterMs: 0,
      });
    });

    it("adjust with a positive delta refunds tokens, capped at capacity", async () => {
      const store = await create();
      const limits = { capacity: 1_000, refillPerSecond: 0, now: 0 };
      await store.tryAcquire("k", { ...limits, amount: 800 });
      expect(await store.adjust("k", 300, limits)).toBe(500);
      expect(await store.adjust("k", 700, limits)).toBe(1_000);
      expect(await store.peek("k", limits)).toBe(1_000);
    });

    it("adjust with a negative delta can drive the bucket into debt that refill pays off first", async () => {
      const store = await create();
      const limits = { capacity: 10, refillPerSecond: 1, now: 0 };
      await store.tryAcquire("k", { ...limits, amount: 10 });
      expect(await store.adjust("k", -5, limits)).toBe(-5);
      expect(await store.peek("k", limits)).toBe(-5);
      expect(await store.tryAcquire("k", { ...limits, amount: 1 })).toEqual({
        granted: false,
        remaining: -5,
        retryAfterMs: 6_000,
      });
      expect(await store.peek("k", { ...limits, now: 5_000 })).toBe(0);
      expect((await store.tryAcquire("k", { ...limits, now: 6_000, amount: 1 })).granted).toBe(true);
    });

    it("adjust on an unknown key starts from a full bucket", async () => {
      const store = await create();
      expect(await store.adjust("k", -3, { capacity: 10, refillPerSecond: 1, now: 0 })).toBe(7);
    });

    it("adjust refills for the elapsed time before applying the delta", async () => {
      const store = await create();
      const limits = { capacity: 10, refillPerSecond: 1, now: 0 };
      await store.tryAcquire("k", { ...limits, amount: 10 });
      expect(await store.adjust("k", -1, { ...limits, now: 4_000 })).toBe(3);
    });

    it("peek reports refill without taking tokens", async () => {
      const store = await create();
      const limits = { capacity: 10, refillPerSecond: 2, now: 0 };
      await store.tryAcquire("k", { ...limits, amount: 10 });
      expect(await store.peek("k", { ...limits, now: 2_000 })).toBe(4);
      expect(await store.peek("k", { ...limits, now: 2_000 })).toBe(4);
      expect((await store.tryAcquire("k", { ...limits, now: 2_000, amount: 4 })).granted).toBe(true);
    });

    it("keys have separate buckets", async () => {
      const store = await create();
      const limits = { capacity: 2, refillPerSecond: 0, now: 0 };
      await store.tryAcquire("a", { ...limits, amount: 2 });
      expect(await store.peek("a", limits)).toBe(0);
      expect(await store.peek("b", limits)).toBe(2);
      expect((await store.tryAcquire("b", { ...limits, amount: 2 })).granted).toBe(true);
    });

    it("a time earlier than the last update refills nothing and does not rewind the bucket", async () => {
      const store = await create();
      const limits = { capacity: 10, refillPerSecond: 1, now: 10_000 };
      await store.tryAcquire("k", { ...limits, amount: 10 });
      expect((await store.tryAcquire("k", { ...limits, now: 5_000, amount: 1 })).granted).toBe(false);
      expect(await store.peek("k", { ...limits, now: 11_000 })).toBe(1);
    });

    it("a lowered refill rate applies from the call that carries it", async () => {
      const store = await create();
      await store.tryAcquire("k", { ...rpm(60, 0), amount: 60 });
      const halved = { capacity: 60, refillPerSecond: 0.5, now: 4_000 };
      expect(await store.peek("k", halved)).toBe(2);
    });

    it("a lowered capacity caps a fuller bucket", async () => {
      const store = await create();
      await store.tryAcquire("k", { capacity: 10, refillPerSecond: 1, now: 0, amount: 1 });
      expect(await store.peek("k", { capacity: 4, refillPerSecond: 1, now: 0 })).toBe(4);
    });

    it("concurrent acquires never grant more than the bucket holds", async () => {
      const store = await create();
      const limits = { capacity: 5, refillPerSecond: 0, now: 0, amount: 1 };
      const results = await Promise.all(Array.from({ length: 20 }, () => store.tryAcquire("k", limits)));
      expect(results.filter((r) => r.granted)).toHaveLength(5);
      expect(await store.peek("k", limits)).toBe(0);
    });

    it("tryAcquireAll takes from every bucket when all have room", async () => {
      const store = await create();
      expect(await store.tryAcquireAll(admission(0, 100))).toEqual({
        granted: true,
        results: [
          { granted: true, remaining: 29, retryAfterMs: 0 },
          { granted: true, remaining: 2_900, retryAfterMs: 0 },
        ],
        retryAfterMs: 0,
      });
      expect(await store.peek("k|rpm", rpm(30, 0))).toBe(29);
      expect(await store.peek("k|tpm", rpm(3_000, 0))).toBe(2_900);
    });

    it("tryAcquireAll refused by the second bucket leaves the first untouched", async () => {
      const store = await create();
      await store.tryAcquire("k|tpm", { ...rpm(3_000, 0), amount: 2_950 });
      expect(await store.tryAcquireAll(admission(0, 100))).toEqual({
        granted: false,
        results: [
          { granted: false, remaining: 30, retryAfterMs: 0 },
          { granted: false, remaining: 50, retryAfterMs: 1_000 },
        ],
        retryAfterMs: 1_000,
      });
      expect(await store.peek("k|rpm", rpm(30, 0))).toBe(30);
      expect(await store.peek("k|tpm", rpm(3_000, 0))).toBe(50);
    });

    it("tryAcquireAll refused by the first bucket leaves the second untouched", async () => {
      const store = await create();
      await store.tryAcquire("k|rpm", { ...rpm(30, 0), amount: 30 });
      expect(await store.tryAcquireAll(admission(0, 100))).toEqual({
        granted: false,
        results: [
          { granted: false, remaining: 0, retryAfterMs: 2_000 },
          { granted: false, remaining: 3_000, retryAfterMs: 0 },
        ],
        retryAfterMs: 2_000,
      });
      expect(await store.peek("k|rpm", rpm(30, 0))).toBe(0);
      expect(await store.peek("k|tpm", rpm(3_000, 0))).toBe(3_000);
    });

    it("tryAcquireAll refused by several buckets reports the longest wait", async () => {
      const store = await create();
      await store.tryAcquire("k|rpm", { ...rpm(30, 0), amount: 30 });
      await store.tryAcquire("k|tpm", { ...rpm(3_000, 0), amount: 3_000 });
      const answer = await store.tryAcquireAll(admission(0, 500));
      expect(answer.results.map((r) => r.retryAfterMs)).toEqual([2_000, 10_000]);
      expect(answer.retryAfterMs).toBe(10_000);
      expect(answer.granted).toBe(false);
    });

    it("tryAcquireAll of an empty list is granted", async () => {
      const store = await create();
      expect(await store.tryAcquireAll([])).toEqual({ granted: true, results: [], retryAfterMs: 0 });
    });

    it("tryAcquireAll refills like tryAcquire, to the bit", async () => {
      const store = await create();
      const limits = (now: number) => ({ capacity: 20, refillPerSecond: 0.7, now, amount: 3 });
      await store.tryAcquire("single", { ...limits(0), amount: 20 });
      await store.tryAcquireAll([{ key: "all", ...limits(0), amount: 20 }]);
      for (const now of [1, 333, 4_289, 4_290, 9_001]) {
        const single = await store.tryAcquire("single", limits(now));
        const all = await store.tryAcquireAll([{ key: "all", ...limits(now) }]);
        expect(all.results[0]!.remaining).toBe(single.remaining);
        expect(all.retryAfterMs).toBe(single.retryAfterMs);
        expect(all.granted).toBe(single.granted);
      }
    });

    it("concurrent tryAcquireAll calls never grant more than either bucket holds", async () => {
      const store = await create();
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => store.tryAcquireAll(admission(0, 400))),
      );
      expect(answers.filter((a) => a.granted)).toHaveLength(7);
      expect(await store.peek("k|rpm", rpm(30, 0))).toBe(23);
      expect(await store.peek("k|tpm", rpm(3_000, 0))).toBe(200);
    });

    it("tryAcquireAll rejects a bad argument or a key named twice with a RangeError, taking nothing", async () => {
      const store = await create();
      const [request, tokens] = admission(0, 100);
      await expect(store.tryAcquireAll([request!, { ...tokens!, amount: -1 }])).rejects.toThrow(RangeError);
      await expect(store.tryAcquireAll([request!, { ...tokens!, now: Number.NaN }])).rejects.toThrow(
        RangeError,
      );
      await expect(store.tryAcquireAll([request!, request!])).rejects.toThrow(RangeError);
      expect(await store.peek("k|rpm", rpm(30, 0))).toBe(30);
    });

    it("a penalized key refills at half rate until the penalty ends, then at full rate", async () => {
      const store = await create();
      await store.tryAcquire("k", { ...rpm(60, 0), amount: 60 });
      expect(await store.penalize("k", { untilMs: 60_000, now: 0 })).toBe(60_000);
      expect(await store.peek("k", rpm(60, 10_000))).toBe(5);
      expect(await store.tryAcquire("k", { ...rpm(60, 10_000), amount: 6 })).toEqual({
        granted: false,
        remaining: 5,
        retryAfterMs: 2_000,
      });
      expect(await store.peek("k", rpm(60, 59_999))).toBe(5 + 49_999 / 2_000);
      expect(await store.peek("k", rpm(60, 60_000))).toBe(55);
    });

    it("the penalty halves the refill of tryAcquireAll and adjust too", async () => {
      const store = await create();
      await store.tryAcquireAll([{ key: "k", ...rpm(60, 0), amount: 60 }]);
      await store.penalize("k", { untilMs: 60_000, now: 0 });
      expect(await store.tryAcquireAll([{ key: "k", ...rpm(60, 4_000), amount: 3 }])).toEqual({
        granted: false,
        results: [{ granted: false, remaining: 2, retryAfterMs: 2_000 }],
        retryAfterMs: 2_000,
      });
      expect(await store.adjust("k", 1, rpm(60, 8_000))).toBe(5);
    });

    it("a penalty never shortens the one in place and changes no tokens", async () => {
      const store = await create();
      await store.tryAcquire("k", { ...rpm(60, 0), amount: 60 });
      await store.penalize("k", { untilMs: 60_000, now: 0 });
      expect(await store.penalize("k", { untilMs: 30_000, now: 0 })).toBe(60_000);
      expect(await store.peek("k", rpm(60, 0))).toBe(0);
      expect(await store.peek("k", rpm(60, 40_000))).toBe(20);
      expect(await store.penalize("k", { untilMs: 90_000, now: 40_000 })).toBe(90_000);
      expect(await store.peek("k", rpm(60, 80_000))).toBe(40);
    });

    it("a penalty belongs to its key and leaves an unknown bucket full", async () => {
      const store = await create();
      await store.penalize("a", { untilMs: 60_000, now: 0 });
      expect(await store.peek("a", rpm(60, 0))).toBe(60);
      await store.tryAcquire("b", { ...rpm(60, 0), amount: 60 });
      expect(await store.peek("b", rpm(60, 10_000))).toBe(10);
    });

    it("penalize rejects a non-finite argument with a RangeError", async () => {
      const store = await create();
      await expect(store.penalize("k", { untilMs: Number.POSITIVE_INFINITY, now: 0 })).rejects.toThrow(
        RangeError,
      );
      await expect(store.penalize("k", { untilMs: 1, now: Number.NaN })).rejects.toThrow(RangeError);
      await store.tryAcquire("k", { ...rpm(60, 0), amount: 60 });
      expect(await store.peek("k", rpm(60, 1_000))).toBe(1);
    });

    it("rejects a negative or non-finite argument with a RangeError", async () => {
      const store = await create();
      const limits = { capacity: 5, refillPerSecond: 1, now: 0 };
      await expect(store.tryAcquire("k", { ...limits, amount: -1 })).rejects.toThrow(RangeError);
      await expect(store.tryAcquire("k", { ...limits, capacity: Number.NaN, amount: 1 })).rejects.toThrow(
        RangeError,
      );
      await expect(store.peek("k", { ...limits, refillPerSecond: -1 })).rejects.toThrow(RangeError);
      await expect(store.adjust("k", Number.POSITIVE_INFINITY, limits)).rejects.toThrow(RangeError);
      expect(await store.peek("k", limits)).toBe(5);
    });
  });
}
