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
