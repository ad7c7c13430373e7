// RateLimiterActor over a real MemoryRateLimitStore: admission is one atomic store call over both
// buckets, and the 429 penalty lives in the store, so two actors sharing it (two nodes) agree.

import { describe, expect, it } from "vitest";
import type { ActorContext } from "../actor/index.js";
import { callbackRef, silentLogger } from "../actor/index.js";
import { MemoryRateLimitStore, type RateLimitStore } from "../core/stores/index.js";
import { flushMicrotasks, ManualClock } from "../testkit/manual-clock.js";
import { type Permit, RateLimiterActor, type RateLimiterMessage } from "./rate-limiter-actor.js";

const limits = { requestsPerMinute: 60, tokensPerMinute: 1_000 };

function node(store: RateLimitStore, clock: ManualClock, errorsLogged: string[] = []) {
  const log = { ...silentLogger, error: (_fields: object, message: string) => errorsLogged.push(message) };
  const actor = new RateLimiterActor({ clock, log } as unknown as ActorContext<RateLimiterMessage>, store);
  return {
    /** Hands the actor a message and lets its store call finish (the memory store takes microtasks). */
    async send(message: RateLimiterMessage): Promise<void> {
      actor.receive(message);
      await flushMicrotasks();
    },
    acquire(tokens: number): Promise<Permit> {
      return new Promise<Permit>((resolve) => {
        actor.receive({
          type: "acquire",
          key: "k",
          limits,
          tokens,
          replyTo: callbackRef<Permit>("test", resolve),
        });
      });
    },
  };
}

/** Counts the store calls the actor makes. */
function counting(store: RateLimitStore): { store: RateLimitStore; calls: string[] } {
  const calls: string[] = [];
  const counted = new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        return value.apply(target, args);
      };
    },
  });
  return { store: counted, calls };
}

describe("RateLimiterActor", () => {
  it("admits with one tryAcquireAll over the request and token buckets", async () => {
    const { store, calls } = counting(new MemoryRateLimitStore());
    const permit = await node(store, new ManualClock(0)).acquire(100);
    expect(permit).toEqual({ granted: true, reservedTokens: 100, utilization: 1 - 59 / 60 });
    expect(calls).toEqual(["tryAcquireAll"]);
    expect(await store.peek("k|tpm", { capacity: 1_000, refillPerSecond: 1_000 / 60, now: 0 })).toBe(900);
  });

  it("a token refusal keeps no request slot and needs no give-back call", async () => {
    const { store, calls } = counting(new MemoryRateLimitStore());
    const limiter = node(store, new ManualClock(0));
    expect((await limiter.acquire(1_000)).granted).toBe(true);
    expect(await limiter.acquire(100)).toEqual({ granted: false, retryAfterMs: 6_000 });
    expect(calls).toEqual(["tryAcquireAll", "tryAcquireAll"]);
    expect(await store.peek("k|rpm", { capacity: 60, refillPerSecond: 1, now: 0 })).toBe(59);
  });

  it("a 429 seen by one node halves the refill every node sees", async () => {
    const shared = new MemoryRateLimitStore();
    const clock = new ManualClock(0);
    const nodeA = node(shared, clock);
    const nodeB = node(shared, clock);
    expect((await nodeA.acquire(1_000)).granted).toBe(true);
    await nodeA.send({ type: "penalize", key: "k", retryAfterMs: undefined });
    await clock.advance(6_000);
    // 6 s at half of 1000/60 per second refills 50 tokens, not 100.
    expect(await nodeB.acquire(100)).toEqual({ granted: false, retryAfterMs: 6_000 });
    await clock.advance(54_000);
    expect((await nodeB.acquire(100)).granted).toBe(true);
  });

  it("a store that fails in any way answers the request with unavailable, and a failed settle is only logged", async () => {
    const failing = new MemoryRateLimitStore();
    const readOnly = new Error("READONLY You can't write against a read only replica.");
    failing.tryAcquireAll = () => Promise.reject(readOnly);
    failing.adjust = () => Promise.reject(readOnly);
    const logged: string[] = [];
    const limiter = node(failing, new ManualClock(0), logged);
    const permit = await limiter.acquire(100);
    expect(permit.granted).toBe(false);
    const error = (permit as { error?: { kind: string; message: string } }).error;
    expect(error?.kind).toBe("unavailable");
    expect(error?.message).toBe(`shared store failed: ${readOnly.message}`);
    await limiter.send({ type: "settle", key: "k", limits, reserved: 500, actual: 200 });
    expect(logged).toEqual(["rate limiter store call failed"]);
  });

  it("settles with the real usage and refunds both buckets of an attempt that never ran", async () => {
    const store = new MemoryRateLimitStore();
    const limiter = node(store, new ManualClock(0));
    await limiter.acquire(500);
    await limiter.send({ type: "settle", key: "k", limits, reserved: 500, actual: 200 });
    const tpm = { capacity: 1_000, refillPerSecond: 1_000 / 60, now: 0 };
    expect(await store.peek("k|tpm", tpm)).toBe(800);
    await limiter.acquire(300);
    await limiter.send({ type: "refund", key: "k", limits, reservedTokens: 300 });
    expect(await store.peek("k|tpm", tpm)).toBe(800);
    expect(await store.peek("k|rpm", { capacity: 60, refillPerSecond: 1, now: 0 })).toBe(59);
  });
});
