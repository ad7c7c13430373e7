// The failover stores against a real redis-server that each test kills and restarts: open mode
// serves this node's share from memory and writes its use back on reconnect; closed mode refuses
// admissions with `unavailable`. Every wait is bounded; the server is back up after each test.

import type { Redis } from "ioredis";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { silentLogger } from "../actor/index.js";
import { InferenceError } from "../core/inference-error.js";
import { FailoverCircuitStateStore } from "./failover-circuit-state-store.js";
import { FailoverRateLimitStore } from "./failover-rate-limit-store.js";
import { FailoverSpendLedger } from "./failover-spend-ledger.js";
import { RedisCircuitStateStore } from "./redis-circuit-state-store.js";
import { createRedisConnection } from "./redis-connection.js";
import { RedisRateLimitStore } from "./redis-rate-limit-store.js";
import { RedisSpendLedger } from "./redis-spend-ledger.js";
import { StoreAvailability } from "./store-availability.js";
import { type OnStoreUnavailable, StoreFailover } from "./store-failover.js";

const redis = useRedis();
const NOW = Date.UTC(2030, 0, 1, 10, 30);
const clients: Redis[] = [];

/** One node's stores on a connection of its own that reconnects quickly. */
function node(mode: OnStoreUnavailable, options: { liveNodes?: number; watch?: boolean } = {}) {
  const client = createRedisConnection(redis.server.url, {
    maxDelayMs: 100,
    connectionName: "failover-test",
  });
  clients.push(client);
  const availability = new StoreAvailability(silentLogger);
  if (options.watch !== false) availability.watch(client);
  const failover = new StoreFailover({
    availability,
    mode,
    liveNodes: () => options.liveNodes ?? 2,
    clock: { now: () => NOW },
  });
  const prefix = redis.prefix();
  return {
    availability,
    prefix,
    rateLimits: new FailoverRateLimitStore(new RedisRateLimitStore({ client, prefix }), failover),
    circuits: new FailoverCircuitStateStore(new RedisCircuitStateStore({ client, prefix }), failover),
    ledger: new FailoverSpendLedger(new RedisSpendLedger({ client, prefix }), failover),
    /** What Redis itself holds, read past the failover stores. */
    redisLedger: new RedisSpendLedger({ client, prefix }),
    redisBuckets: new RedisRateLimitStore({ client, prefix }),
  };
}

async function waitFor(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const rpm = { capacity: 10, refillPerSecond: 10 / 60, now: NOW };

afterEach(async () => {
  // whatever a test did, the next one starts with Redis up
  if (!redis.server.external) await redis.server.restart();
}, 20_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())));
});

describe.skipIf(Boolean(process.env.REDIS_URL))("failover stores while Redis is down", () => {
  it("open: a rate limit allows this node (limit − last known use) ÷ live nodes, charged back on reconnect", async () => {
    const a = node("open");
    for (let i = 0; i < 2; i++)
      expect((await a.rateLimits.tryAcquire("k|rpm", { ...rpm, amount: 1 })).granted).toBe(true);
    await redis.server.kill();
    await waitFor(() => a.availability.state === "unavailable");
    let granted = 0;
    for (let i = 0; i < 10; i++)
      if ((await a.rateLimits.tryAcquire("k|rpm", { ...rpm, amount: 1 })).granted) granted++;
    expect(granted).toBe(4); // (10 − 2) ÷ 2
    await redis.server.restart();
    await waitFor(() => a.availability.state === "available");
    await a.rateLimits.flushed();
    // the restarted server starts empty: its bucket holds 10 less the 4 this node took meanwhile
    expect(await a.redisBuckets.peek("k|rpm", rpm)).toBe(6);
  }, 20_000);

  it("open: a call that fails because Redis went away is answered from memory and marks the store unavailable", async () => {
    const a = node("open", { watch: false, liveNodes: 1 });
    expect((await a.rateLimits.tryAcquire("k|rpm", { ...rpm, amount: 1 })).granted).toBe(true);
    await redis.server.kill();
    const answer = await a.rateLimits.tryAcquire("k|rpm", { ...rpm, amount: 1 });
    expect(answer).toMatchObject({ granted: true, remaining: 8 });
    expect(a.availability.state).toBe("unavailable");
  }, 20_000);

  it("open: a budget allows this node its share of what was left, and the spend is written back on reconnect", async () => {
    const a = node("open");
    const limits = { maxHourUsd: 10 };
    await a.ledger.record("gpt", 2, NOW);
    const before = await a.ledger.reserveWithin("gpt", 1, limits, NOW);
    if (!before.granted) throw new Error("expected a grant");
    await redis.server.kill();
    await waitFor(() => a.availability.state === "unavailable");
    // (10 − 2 spent − 1 reserved) ÷ 2 nodes = 3.5 for this node
    const first = await a.ledger.reserveWithin("gpt", 3, limits, NOW);
    expect(first.granted).toBe(true);
    if (first.granted) expect(await a.ledger.settle(first.reservationId, 3, NOW)).toBe(true);
    expect(await a.ledger.reserveWithin("gpt", 1, limits, NOW)).toMatchObject({
      granted: false,
      window: "hour",
    });
    expect(await a.ledger.settle(before.reservationId, 1, NOW)).toBe(true);
    await a.ledger.record("gpt", 0.25, NOW);
    expect(await a.ledger.totals("gpt", NOW)).toEqual({ hourUsd: 6.25, dayUsd: 6.25, reservedUsd: 0 });
    expect(a.ledger.buffered).toBe(3);
    await redis.server.restart();
    await waitFor(() => a.availability.state === "available");
    await a.ledger.flushed();
    expect(a.ledger.buffered).toBe(0);
    // the restarted server lost the $2 from before; the outage's $4.25 is back in it
    expect(await a.redisLedger.totals("gpt", NOW)).toEqual({ hourUsd: 4.25, dayUsd: 4.25, reservedUsd: 0 });
  }, 20_000);

  it("open: a circuit open before the outage stays open on this node during it", async () => {
    const a = node("open");
    const open = {
      state: "open" as const,
      consecutiveFailures: 5,
      openedAt: NOW,
      retryAt: NOW + 60_000,
      halfOpenInFlight: 0,
    };
    await a.circuits.update("endpoint", () => open);
    await redis.server.kill();
    await waitFor(() => a.availability.state === "unavailable");
    expect(await a.circuits.get("endpoint")).toMatchObject({ state: "open", retryAt: NOW + 60_000 });
    const next = await a.circuits.update("endpoint", (current) => ({ ...current, consecutiveFailures: 6 }));
    expect(next).toMatchObject({ state: "open", consecutiveFailures: 6 });
  }, 20_000);

  it('closed: admissions reject with 503 unavailable "cluster store unavailable"; settles and reads still answer', async () => {
    const b = node("closed");
    await redis.server.kill();
    await waitFor(() => b.availability.state === "unavailable");
    const refusal = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (error: unknown) => error,
      );
    const refusals = [
      await refusal(b.ledger.reserveWithin("gpt", 1, { maxHourUsd: 10 }, NOW)),
      await refusal(b.rateLimits.tryAcquireAll([{ key: "k|rpm", ...rpm, amount: 1 }])),
      await refusal(b.circuits.update("endpoint", (current) => current)),
    ];
    for (const error of refusals) {
      expect(error).toBeInstanceOf(InferenceError);
      expect(error).toMatchObject({ kind: "unavailable", message: "cluster store unavailable" });
    }
    await b.ledger.record("gpt", 1, NOW);
    expect(await b.ledger.totals("gpt", NOW)).toEqual({ hourUsd: 1, dayUsd: 1, reservedUsd: 0 });
    expect(await b.circuits.get("endpoint")).toMatchObject({ state: "closed" });
    expect(await b.rateLimits.adjust("k|rpm", 1, rpm)).toBeGreaterThan(0);
  }, 20_000);
});

describe("StoreFailover write-back", () => {
  it("a buffered write Redis refuses for good is reported as dropped; a lost connection keeps it", async () => {
    const dropped: string[] = [];
    const availability = new StoreAvailability(silentLogger);
    const failover = new StoreFailover({
      availability,
      mode: "open",
      liveNodes: () => 1,
      clock: { now: () => NOW },
      onWriteBackDropped: (error) => dropped.push(error.message),
    });
    const refused = Object.assign(new Error("OOM command not allowed when used memory > 'maxmemory'."), {
      name: "ReplyError",
    });
    expect(await failover.writeBack(() => Promise.reject(refused))).toBe(true);
    expect(dropped).toEqual([refused.message]);
    const lost = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" });
    expect(await failover.writeBack(() => Promise.reject(lost))).toBe(false);
    expect(dropped).toHaveLength(1);
  });
});
