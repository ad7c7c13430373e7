// The behaviour every CircuitStateStore must have, as one vitest suite each implementation runs:
// memory-circuit-state-store.test.ts today, the Redis store with the cluster work.
// Call it with a factory that returns a fresh, empty store for each test.

import { describe, expect, it } from "vitest";
import { type CircuitRecord, type CircuitStateStore, closedCircuit } from "./circuit-state-store.js";

const open = (openedAt: number, overrides: Partial<CircuitRecord> = {}): CircuitRecord => ({
  state: "open",
  consecutiveFailures: 5,
  openedAt,
  retryAt: openedAt + 30_000,
  halfOpenInFlight: 0,
  ...overrides,
});

const countFailure = (current: CircuitRecord): CircuitRecord => ({
  ...current,
  consecutiveFailures: current.consecutiveFailures + 1,
});

export function circuitStateStoreContract(
  name: string,
  create: () => Promise<CircuitStateStore> | CircuitStateStore,
): void {
  describe(`${name} (CircuitStateStore contract)`, () => {
    it("an unknown endpoint reads as a fresh closed circuit", async () => {
      const store = await create();
      expect(await store.get("openai|https://api.openai.com|gpt-4o")).toEqual({
        state: "closed",
        consecutiveFailures: 0,
        halfOpenInFlight: 0,
      });
      expect(await store.list()).toEqual([]);
    });

    it("get returns what set stored", async () => {
      const store = await create();
      await store.set("e1", open(1_000, { forced: "open" }));
      expect(await store.get("e1")).toEqual(open(1_000, { forced: "open" }));
    });

    it("keeps a half-open record's probe lease through set and update", async () => {
      const store = await create();
      const probing = open(1_000, { state: "half-open", halfOpenInFlight: 1, probesExpireAt: 61_000 });
      await store.set("e1", probing);
      expect(await store.get("e1")).toEqual(probing);
      const next = await store.update("e1", (current) => ({ ...current, probesExpireAt: 62_000 }));
      expect(next.probesExpireAt).toBe(62_000);
      expect((await store.get("e1")).probesExpireAt).toBe(62_000);
    });

    it("set replaces the whole record, so a field left out is gone", async () => {
      const store = await create();
      await store.set("e1", open(1_000, { forced: "open" }));
      await store.set("e1", closedCircuit());
      const record = await store.get("e1");
      expect(record).toEqual(closedCircuit());
      expect(record.forced).toBeUndefined();
      expect(record.openedAt).toBeUndefined();
    });

    it("update hands fn the current record and stores and returns what fn returns", async () => {
      const store = await create();
      await store.set("e1", open(1_000));
      const seen: CircuitRecord[] = [];
      const next = await store.update("e1", (current) => {
        seen.push(current);
        return { ...current, state: "half-open", halfOpenInFlight: 1 };
      });
      expect(seen).toEqual([open(1_000)]);
      expect(next).toEqual(open(1_000, { state: "half-open", halfOpenInFlight: 1 }));
      expect(await store.get("e1")).toEqual(next);
    });

    it("update of an unknown endpoint starts from a fresh closed circuit", async () => {
      const store = await create();
      expect(await store.update("e1", countFailure)).toEqual({ ...closedCircuit(), consecutiveFailures: 1 });
      expect(await store.get("e1")).toEqual({ ...closedCircuit(), consecutiveFailures: 1 });
    });

    it("concurrent updates are each applied once, none lost", async () => {
      const store = await create();
      await Promise.all(Array.from({ length: 50 }, () => store.update("e1", countFailure)));
      expect((await store.get("e1")).consecutiveFailures).toBe(50);
    });

    it("an update whose fn throws rejects with that error and stores nothing", async () => {
      const store = await create();
      await store.set("e1", open(1_000));
      const failure = new Error("decider failed");
      await expect(
        store.update("e1", (current) => {
          current.state = "closed";
          current.consecutiveFailures = 0;
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await store.get("e1")).toEqual(open(1_000));
      await expect(
        store.update("e2", () => {
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect((await store.list()).map(([endpoint]) => endpoint)).toEqual(["e1"]);
    });

    it("endpoints have separate circuits", async () => {
      const store = await create();
      await store.set("e1", open(1_000));
      await store.update("e2", countFailure);
      expect(await store.get("e1")).toEqual(open(1_000));
      expect(await store.get("e2")).toEqual({ ...closedCircuit(), consecutiveFailures: 1 });
      expect(await store.get("e3")).toEqual(closedCircuit());
    });

    it("list returns every known endpoint with its record, sorted by endpoint", async () => {
      const store = await create();
      await store.set("openai|b", open(2_000));
      await store.update("anthropic|a", countFailure);
      await store.set("openai|a", closedCircuit());
      expect(await store.list()).toEqual([
        ["anthropic|a", { ...closedCircuit(), consecutiveFailures: 1 }],
        ["openai|a", closedCircuit()],
        ["openai|b", open(2_000)],
      ]);
    });

    it("changing a record handed in or out does not change the store", async () => {
      const store = await create();
      const stored = open(1_000);
      await store.set("e1", stored);
      stored.consecutiveFailures = 99;
      (await store.get("e1")).state = "closed";
      const listed = await store.list();
      listed[0]![1].halfOpenInFlight = 7;
      const next = open(1_000);
      const returned = await store.update("e1", (current) => {
        current.retryAt = 0;
        return next;
      });
      returned.state = "half-open";
      next.consecutiveFailures = 0;
      expect(await store.get("e1")).toEqual(open(1_000));
    });
  });
}
