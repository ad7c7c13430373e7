// The behaviour every SpendLedger must have, as one vitest suite each implementation runs:
// memory-spend-ledger.test.ts today, the Redis ledger with the cluster work.
// Call it with a factory that returns a fresh, empty ledger for each test.

import { describe, expect, it } from "vitest";
import type { SpendLedger } from "./spend-ledger.js";

/** 2024-03-10 (UTC) at the given time of day. */
const at = (hour: number, minute = 0, second = 0, ms = 0): number =>
  Date.UTC(2024, 2, 10, hour, minute, second, ms);
/** 2024-03-11 (UTC), the next day. */
const nextDayAt = (hour: number, minute = 0): number => Date.UTC(2024, 2, 11, hour, minute);

export function spendLedgerContract(name: string, create: () => Promise<SpendLedger> | SpendLedger): void {
  describe(`${name} (SpendLedger contract)`, () => {
    it("an unknown deployment has spent and reserved nothing", async () => {
      const ledger = await create();
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 0, dayUsd: 0, reservedUsd: 0 });
      expect(await ledger.listDeployments()).toEqual([]);
    });

    it("recorded spend adds up in the hour and the day containing now", async () => {
      const ledger = await create();
      await ledger.record("chat", 0.25, at(10, 5));
      await ledger.record("chat", 0.5, at(10, 40));
      expect(await ledger.totals("chat", at(10, 59))).toEqual({
        hourUsd: 0.75,
        dayUsd: 0.75,
        reservedUsd: 0,
      });
    });

    it("the hour window rolls over exactly at the UTC hour boundary while the day keeps counting", async () => {
      const ledger = await create();
      await ledger.record("chat", 1, at(10, 59, 59, 999));
      expect((await ledger.totals("chat", at(10, 59, 59, 999))).hourUsd).toBe(1);
      expect(await ledger.totals("chat", at(11))).toEqual({ hourUsd: 0, dayUsd: 1, reservedUsd: 0 });
      await ledger.record("chat", 2, at(11));
      expect(await ledger.totals("chat", at(11, 30))).toEqual({ hourUsd: 2, dayUsd: 3, reservedUsd: 0 });
    });

    it("each window holds only what was recorded inside it", async () => {
      const ledger = await create();
      await ledger.record("chat", 0.5, at(10, 30));
      await ledger.record("chat", 0.25, at(11, 10));
      expect(await ledger.totals("chat", at(10, 45))).toEqual({ hourUsd: 0.5, dayUsd: 0.75, reservedUsd: 0 });
      expect(await ledger.totals("chat", at(11, 45))).toEqual({
        hourUsd: 0.25,
        dayUsd: 0.75,
        reservedUsd: 0,
      });
    });

    it("the day window rolls over exactly at UTC midnight", async () => {
      const ledger = await create();
      await ledger.record("chat", 4, at(9));
      await ledger.record("chat", 1, at(23, 59, 59, 999));
      expect(await ledger.totals("chat", at(23, 59, 59, 999))).toEqual({
        hourUsd: 1,
        dayUsd: 5,
        reservedUsd: 0,
      });
      expect(await ledger.totals("chat", nextDayAt(0))).toEqual({ hourUsd: 0, dayUsd: 0, reservedUsd: 0 });
      await ledger.record("chat", 0.5, nextDayAt(0, 1));
      expect(await ledger.totals("chat", nextDayAt(12))).toEqual({ hourUsd: 0, dayUsd: 0.5, reservedUsd: 0 });
    });

    it("a reservation counts as reserved, not as spend", async () => {
      const ledger = await create();
      await ledger.reserve("chat", 0.5, at(10));
      await ledger.reserve("chat", 0.25, at(10, 1));
      expect(await ledger.totals("chat", at(10, 2))).toEqual({ hourUsd: 0, dayUsd: 0, reservedUsd: 0.75 });
    });

    it("an open reservation stays reserved across window boundaries", async () => {
      const ledger = await create();
      await ledger.reserve("chat", 0.5, at(23, 59));
      expect((await ledger.totals("chat", nextDayAt(1))).reservedUsd).toBe(0.5);
    });

    it("settle removes the reservation and records the actual cost in the windows of the settle time", async () => {
      const ledger = await create();
      const id = await ledger.reserve("chat", 1, at(10, 59));
      expect(await ledger.settle(id, 0.25, at(11, 1))).toBe(true);
      expect(await ledger.totals("chat", at(11, 2))).toEqual({ hourUsd: 0.25, dayUsd: 0.25, reservedUsd: 0 });
      expect((await ledger.totals("chat", at(10, 59))).hourUsd).toBe(0);
    });

    it("settle can record more than was reserved", async () => {
      const ledger = await create();
      const id = await ledger.reserve("chat", 0.25, at(10));
      await ledger.settle(id, 1.5, at(10));
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 1.5, dayUsd: 1.5, reservedUsd: 0 });
    });

    it("release removes the reservation without recording spend", async () => {
      const ledger = await create();
      const kept = await ledger.reserve("chat", 0.25, at(10));
      const released = await ledger.reserve("chat", 1, at(10));
      expect(await ledger.release(released)).toBe(true);
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 0, dayUsd: 0, reservedUsd: 0.25 });
      expect(await ledger.release(kept)).toBe(true);
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 0, dayUsd: 0, reservedUsd: 0 });
    });

    it("a reservation ends once: a second settle or release is ignored and returns false", async () => {
      const ledger = await create();
      const settled = await ledger.reserve("chat", 1, at(10));
      const released = await ledger.reserve("chat", 1, at(10));
      expect(await ledger.settle(settled, 0.5, at(10))).toBe(true);
      expect(await ledger.release(released)).toBe(true);
      expect(await ledger.settle(settled, 0.5, at(10))).toBe(false);
      expect(await ledger.release(settled)).toBe(false);
      expect(await ledger.settle(released, 0.5, at(10))).toBe(false);
      expect(await ledger.release(released)).toBe(false);
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 0.5, dayUsd: 0.5, reservedUsd: 0 });
    });

    it("an unknown reservation id is ignored and returns false", async () => {
      const ledger = await create();
      await ledger.reserve("chat", 1, at(10));
      expect(await ledger.settle("no-such-reservation", 3, at(10))).toBe(false);
      expect(await ledger.release("no-such-reservation")).toBe(false);
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 0, dayUsd: 0, reservedUsd: 1 });
      expect(await ledger.listDeployments()).toEqual(["chat"]);
    });

    it("reservation ids are unique", async () => {
      const ledger = await create();
      const ids = await Promise.all(
        Array.from({ length: 100 }, (_, i) => ledger.reserve(i % 2 === 0 ? "chat" : "embed", 0.01, at(10))),
      );
      expect(new Set(ids).size).toBe(100);
    });

    it("deployments are accounted separately", async () => {
      const ledger = await create();
      await ledger.record("chat", 2, at(10));
      const id = await ledger.reserve("embed", 0.5, at(10));
      await ledger.record("embed", 0.25, at(10));
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 2, dayUsd: 2, reservedUsd: 0 });
      expect(await ledger.totals("embed", at(10))).toEqual({ hourUsd: 0.25, dayUsd: 0.25, reservedUsd: 0.5 });
      await ledger.settle(id, 0.5, at(10));
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 2, dayUsd: 2, reservedUsd: 0 });
      expect(await ledger.totals("embed", at(10))).toEqual({ hourUsd: 0.75, dayUsd: 0.75, reservedUsd: 0 });
    });

    it("lists every deployment that recorded spend or reserved, sorted by name", async () => {
      const ledger = await create();
      await ledger.record("zeta", 0.1, at(10));
      await ledger.reserve("alpha", 0.1, at(10));
      await ledger.record("mid", 0, at(10));
      expect(await ledger.listDeployments()).toEqual(["alpha", "mid", "zeta"]);
    });

    it("concurrent records are all counted", async () => {
      const ledger = await create();
      await Promise.all(Array.from({ length: 40 }, () => ledger.record("chat", 0.25, at(10))));
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 10, dayUsd: 10, reservedUsd: 0 });
    });

    it("reserveWithin grants until the next request would pass the hourly limit, then refuses naming the hour", async () => {
      const ledger = await create();
      const hour = { maxHourUsd: 10 };
      for (let i = 0; i < 3; i++)
        expect((await ledger.reserveWithin("chat", 3, hour, at(10, 30))).granted).toBe(true);
      expect(await ledger.reserveWithin("chat", 3, hour, at(10, 30))).toEqual({
        granted: false,
        totals: { hourUsd: 0, dayUsd: 0, reservedUsd: 9 },
        window: "hour",
        retryAfterMs: 30 * 60_000,
      });
      expect((await ledger.totals("chat", at(10, 30))).reservedUsd).toBe(9);
    });

    it("reserveWithin grants a request that reaches the limit exactly", async () => {
      const ledger = await create();
      await ledger.record("chat", 2, at(10));
      await ledger.reserve("chat", 3, at(10));
      const reservation = await ledger.reserveWithin("chat", 5, { maxHourUsd: 10, maxDayUsd: 10 }, at(10));
      expect(reservation).toMatchObject({ granted: true, totals: { hourUsd: 2, dayUsd: 2, reservedUsd: 3 } });
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 2, dayUsd: 2, reservedUsd: 8 });
      const refused = await ledger.reserveWithin("chat", 0.01, { maxHourUsd: 10 }, at(10));
      expect(refused).toMatchObject({ granted: false, window: "hour" });
      expect((await ledger.reserveWithin("chat", 0, { maxHourUsd: 10 }, at(10))).granted).toBe(true);
    });

    it("reserveWithin counts spend of the current hour only against the hourly limit", async () => {
      const ledger = await create();
      await ledger.record("chat", 8, at(9, 30));
      expect(await ledger.reserveWithin("chat", 3, { maxHourUsd: 10 }, at(9, 45))).toMatchObject({
        granted: false,
        window: "hour",
        retryAfterMs: 15 * 60_000,
      });
      expect((await ledger.reserveWithin("chat", 3, { maxHourUsd: 10 }, at(10))).granted).toBe(true);
    });

    it("reserveWithin refuses past the daily limit naming the day, with retry-after to UTC midnight", async () => {
      const ledger = await create();
      await ledger.record("chat", 8, at(9));
      const limits = { maxHourUsd: 5, maxDayUsd: 10 };
      expect((await ledger.reserveWithin("chat", 2, limits, at(23))).granted).toBe(true);
      expect(await ledger.reserveWithin("chat", 1, limits, at(23, 30))).toEqual({
        granted: false,
        totals: { hourUsd: 0, dayUsd: 8, reservedUsd: 2 },
        window: "day",
        retryAfterMs: 30 * 60_000,
      });
      // the next UTC day starts from nothing spent; the open $2 still counts
      expect(await ledger.reserveWithin("chat", 1, limits, nextDayAt(0))).toMatchObject({
        granted: true,
        totals: { hourUsd: 0, dayUsd: 0, reservedUsd: 2 },
      });
    });

    it("reserveWithin names the hour when both limits would be passed", async () => {
      const ledger = await create();
      await ledger.record("chat", 5, at(10));
      expect(await ledger.reserveWithin("chat", 1, { maxHourUsd: 5, maxDayUsd: 5 }, at(10))).toMatchObject({
        granted: false,
        window: "hour",
      });
    });

    it("reserveWithin without limits always grants", async () => {
      const ledger = await create();
      await ledger.record("chat", 100, at(10));
      expect((await ledger.reserveWithin("chat", 50, {}, at(10))).granted).toBe(true);
      expect((await ledger.totals("chat", at(10))).reservedUsd).toBe(50);
    });

    it("reservations from reserve count against reserveWithin's limits, and a refusal reserves nothing", async () => {
      const ledger = await create();
      await ledger.reserve("chat", 4, at(10));
      const refused = await ledger.reserveWithin("chat", 2, { maxDayUsd: 5 }, at(10));
      expect(refused).toMatchObject({ granted: false, window: "day" });
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 0, dayUsd: 0, reservedUsd: 4 });
      expect(await ledger.listDeployments()).toEqual(["chat"]);
    });

    it("a refusal for a deployment never seen leaves it unlisted", async () => {
      const ledger = await create();
      expect((await ledger.reserveWithin("chat", 2, { maxHourUsd: 1 }, at(10))).granted).toBe(false);
      expect(await ledger.listDeployments()).toEqual([]);
    });

    it("releasing a reservation made by reserveWithin frees its room", async () => {
      const ledger = await create();
      const first = await ledger.reserveWithin("chat", 6, { maxHourUsd: 10 }, at(10));
      expect((await ledger.reserveWithin("chat", 6, { maxHourUsd: 10 }, at(10))).granted).toBe(false);
      if (!first.granted) throw new Error("first reservation refused");
      expect(await ledger.release(first.reservationId)).toBe(true);
      expect((await ledger.reserveWithin("chat", 6, { maxHourUsd: 10 }, at(10))).granted).toBe(true);
    });

    it("settling a reservation made by reserveWithin moves it from reserved to spend", async () => {
      const ledger = await create();
      const limits = { maxHourUsd: 10 };
      const first = await ledger.reserveWithin("chat", 6, limits, at(10));
      if (!first.granted) throw new Error("first reservation refused");
      expect(await ledger.settle(first.reservationId, 7, at(10, 1))).toBe(true);
      expect(await ledger.totals("chat", at(10, 1))).toEqual({ hourUsd: 7, dayUsd: 7, reservedUsd: 0 });
      expect(await ledger.reserveWithin("chat", 4, limits, at(10, 2))).toMatchObject({
        granted: false,
        totals: { hourUsd: 7, dayUsd: 7, reservedUsd: 0 },
      });
      expect((await ledger.reserveWithin("chat", 3, limits, at(10, 2))).granted).toBe(true);
    });

    it("concurrent reserveWithin calls never admit past the limit together", async () => {
      const ledger = await create();
      const results = await Promise.all(
        Array.from({ length: 15 }, () => ledger.reserveWithin("chat", 3, { maxHourUsd: 15 }, at(10))),
      );
      expect(results.filter((r) => r.granted)).toHaveLength(5);
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 0, dayUsd: 0, reservedUsd: 15 });
    });

    it("reserveWithin rejects a negative or non-finite amount or limit with a RangeError and reserves nothing", async () => {
      const ledger = await create();
      await expect(ledger.reserveWithin("chat", -1, {}, at(10))).rejects.toThrow(RangeError);
      await expect(ledger.reserveWithin("chat", Number.NaN, { maxHourUsd: 1 }, at(10))).rejects.toThrow(
        RangeError,
      );
      await expect(ledger.reserveWithin("chat", 1, { maxHourUsd: -1 }, at(10))).rejects.toThrow(RangeError);
      await expect(
        ledger.reserveWithin("chat", 1, { maxDayUsd: Number.POSITIVE_INFINITY }, at(10)),
      ).rejects.toThrow(RangeError);
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 0, dayUsd: 0, reservedUsd: 0 });
    });

    it("rejects a negative or non-finite amount with a RangeError and records nothing", async () => {
      const ledger = await create();
      await expect(ledger.record("chat", -1, at(10))).rejects.toThrow(RangeError);
      await expect(ledger.record("chat", Number.NaN, at(10))).rejects.toThrow(RangeError);
      await expect(ledger.reserve("chat", Number.POSITIVE_INFINITY, at(10))).rejects.toThrow(RangeError);
      const id = await ledger.reserve("chat", 1, at(10));
      await expect(ledger.settle(id, -0.5, at(10))).rejects.toThrow(RangeError);
      expect(await ledger.totals("chat", at(10))).toEqual({ hourUsd: 0, dayUsd: 0, reservedUsd: 1 });
    });
  });
}
