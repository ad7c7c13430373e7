// Runs the SpendLedger contract against RedisSpendLedger on a real redis-server, plus what only a
// shared ledger can get wrong: nodes racing for a budget, window expiry, abandoned reservations.

import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { HOUR_MS } from "../core/stores/index.js";
import { spendLedgerContract } from "../core/stores/spend-ledger.contract.js";
import { RedisSpendLedger } from "./redis-spend-ledger.js";

const redis = useRedis();

spendLedgerContract(
  "RedisSpendLedger",
  () => new RedisSpendLedger({ client: redis.client, prefix: redis.prefix() }),
);

const at = (hour: number, minute = 0): number => Date.UTC(2024, 2, 10, hour, minute);

describe("RedisSpendLedger on Redis", () => {
  it("records and reservations from two connections are all counted", async () => {
    const prefix = redis.prefix();
    const nodeA = new RedisSpendLedger({ client: redis.client, prefix });
    const nodeB = new RedisSpendLedger({ client: redis.connect(), prefix });
    const ids = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? nodeA : nodeB).reserve("chat", 0.25, at(10))),
    );
    expect(new Set(ids).size).toBe(50);
    expect((await nodeA.totals("chat", at(10))).reservedUsd).toBe(12.5);
    const settled = await Promise.all(
      ids.map((id, i) => (i % 2 === 0 ? nodeB : nodeA).settle(id, 0.125, at(10, 30))),
    );
    expect(settled.every(Boolean)).toBe(true);
    expect(await nodeB.totals("chat", at(10, 30))).toEqual({ hourUsd: 6.25, dayUsd: 6.25, reservedUsd: 0 });
  });

  it("15 concurrent $3 reservations against a $15 hourly budget from three nodes admit exactly 5", async () => {
    const prefix = redis.prefix();
    const clients = [redis.client, redis.connect(), redis.connect()];
    // All three connected first, so their calls really interleave (a totals-then-reserve check admits all 15).
    await Promise.all(clients.map((client) => client.ping()));
    const nodes = clients.map((client) => new RedisSpendLedger({ client, prefix }));
    const results = await Promise.all(
      Array.from({ length: 15 }, (_, i) =>
        nodes[i % 3]!.reserveWithin("chat", 3, { maxHourUsd: 15 }, at(10)),
      ),
    );
    const granted = results.filter((r) => r.granted);
    expect(granted).toHaveLength(5);
    expect(new Set(granted.map((r) => r.reservationId)).size).toBe(5);
    expect(results.filter((r) => !r.granted && r.window === "hour")).toHaveLength(10);
    expect(await nodes[0]!.totals("chat", at(10))).toEqual({ hourUsd: 0, dayUsd: 0, reservedUsd: 15 });
    // each settles at its estimate: the hour is full of spend and still refuses
    await Promise.all(granted.map((r, i) => nodes[(i + 1) % 3]!.settle(r.reservationId, 3, at(10, 30))));
    expect(await nodes[2]!.totals("chat", at(10, 30))).toEqual({ hourUsd: 15, dayUsd: 15, reservedUsd: 0 });
    expect((await nodes[1]!.reserveWithin("chat", 3, { maxHourUsd: 15 }, at(10, 30))).granted).toBe(false);
  });

  it("reserveWithin drops abandoned reservations before it checks the limit", async () => {
    const ledger = new RedisSpendLedger({
      client: redis.client,
      prefix: redis.prefix(),
      reservationTtlMs: HOUR_MS,
    });
    await ledger.reserve("chat", 10, at(9));
    expect((await ledger.reserveWithin("chat", 1, { maxDayUsd: 10 }, at(9, 59))).granted).toBe(false);
    expect(await ledger.reserveWithin("chat", 1, { maxDayUsd: 10 }, at(10))).toMatchObject({
      granted: true,
      totals: { reservedUsd: 0 },
    });
  });

  it("a reservation settles exactly once even when two nodes race to end it", async () => {
    const prefix = redis.prefix();
    const nodeA = new RedisSpendLedger({ client: redis.client, prefix });
    const nodeB = new RedisSpendLedger({ client: redis.connect(), prefix });
    const id = await nodeA.reserve("chat", 1, at(10));
    const results = await Promise.all([
      nodeA.settle(id, 1, at(10)),
      nodeB.settle(id, 1, at(10)),
      nodeB.release(id),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const { hourUsd, reservedUsd } = await nodeA.totals("chat", at(10));
    expect(reservedUsd).toBe(0);
    expect([0, 1]).toContain(hourUsd);
  });

  it("keeps amounts that are not exact in binary exactly as the memory ledger adds them", async () => {
    const ledger = new RedisSpendLedger({ client: redis.client, prefix: redis.prefix() });
    await ledger.record("chat", 0.1, at(10));
    await ledger.record("chat", 0.2, at(10));
    expect((await ledger.totals("chat", at(10))).hourUsd).toBe(0.1 + 0.2);
  });

  it("window keys expire after the following window", async () => {
    const prefix = redis.prefix();
    const ledger = new RedisSpendLedger({ client: redis.client, prefix });
    await ledger.record("chat", 1, at(10, 30));
    const hourTtl = await redis.client.pttl(`${prefix}spend:chat:hour:${at(10)}`);
    expect(hourTtl).toBeGreaterThan(1.5 * HOUR_MS);
    expect(hourTtl).toBeLessThanOrEqual(1.5 * HOUR_MS + 60_000);
    const dayTtl = await redis.client.pttl(`${prefix}spend:chat:day:${Date.UTC(2024, 2, 10)}`);
    expect(dayTtl).toBeGreaterThan(37 * HOUR_MS);
  });

  it("a reservation left open past reservationTtlMs is dropped as abandoned", async () => {
    const ledger = new RedisSpendLedger({
      client: redis.client,
      prefix: redis.prefix(),
      reservationTtlMs: HOUR_MS,
    });
    const abandoned = await ledger.reserve("chat", 1, at(10));
    await ledger.reserve("chat", 0.5, at(10, 30));
    expect((await ledger.totals("chat", at(10, 59))).reservedUsd).toBe(1.5);
    expect((await ledger.totals("chat", at(11))).reservedUsd).toBe(0.5);
    expect(await ledger.settle(abandoned, 1, at(11))).toBe(false);
  });

  it("an id not of the ledger's form resolves false", async () => {
    const ledger = new RedisSpendLedger({ client: redis.client, prefix: redis.prefix() });
    expect(await ledger.release("chat")).toBe(false);
    expect(await ledger.settle("x:chat", 1, at(10))).toBe(false);
  });
});

describe("RedisSpendLedger with a clock that has fractions of a ms", () => {
  it("records, reserves and settles at a fractional now", async () => {
    const ledger = new RedisSpendLedger({ client: redis.client, prefix: redis.prefix() });
    const now = at(10) + 0.5;
    await ledger.record("chat", 1, now);
    const id = await ledger.reserve("chat", 1, now);
    expect(await ledger.settle(id, 0.5, now)).toBe(true);
    expect(await ledger.totals("chat", now)).toEqual({ hourUsd: 1.5, dayUsd: 1.5, reservedUsd: 0 });
  });

  it("reserveWithin at a fractional now grants, and refuses with retry-after to the window's end", async () => {
    const ledger = new RedisSpendLedger({ client: redis.client, prefix: redis.prefix() });
    const now = at(10, 30) + 0.5;
    expect((await ledger.reserveWithin("chat", 1, { maxHourUsd: 1 }, now)).granted).toBe(true);
    expect(await ledger.reserveWithin("chat", 1, { maxHourUsd: 1 }, now)).toMatchObject({
      granted: false,
      retryAfterMs: 30 * 60_000 - 0.5,
    });
  });
});
