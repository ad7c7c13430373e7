// Runs the ResponseStore contract against the in-process implementation, plus its own bound:
// `responses_max_stored` evicts the oldest record, and expired records are dropped as they are met.

import { describe, expect, it } from "vitest";
import { MemoryResponseStore } from "./memory-response-store.js";
import { responseStoreContract, sampleResponse } from "./response-store.contract.js";

responseStoreContract("MemoryResponseStore", () => new MemoryResponseStore({ maxStored: 100 }));

describe("MemoryResponseStore bounds", () => {
  it("past maxStored the oldest record is evicted", async () => {
    const store = new MemoryResponseStore({ maxStored: 2 });
    await store.put(sampleResponse("resp_1", "c"), 60_000, 0);
    await store.put(sampleResponse("resp_2", "c"), 60_000, 1);
    await store.put(sampleResponse("resp_3", "c"), 60_000, 2);
    expect(store.size).toBe(2);
    expect(await store.get("resp_1", "c", 3)).toBeUndefined();
    expect((await store.get("resp_2", "c", 3))?.id).toBe("resp_2");
    expect((await store.get("resp_3", "c", 3))?.id).toBe("resp_3");
  });

  it("a replaced record counts as the newest", async () => {
    const store = new MemoryResponseStore({ maxStored: 2 });
    await store.put(sampleResponse("resp_1", "c"), 60_000, 0);
    await store.put(sampleResponse("resp_2", "c"), 60_000, 1);
    await store.put(sampleResponse("resp_1", "c"), 60_000, 2);
    await store.put(sampleResponse("resp_3", "c"), 60_000, 3);
    expect(await store.get("resp_2", "c", 4)).toBeUndefined();
    expect((await store.get("resp_1", "c", 4))?.id).toBe("resp_1");
  });

  it("a put drops the records that expired before it, so they take no room", async () => {
    const store = new MemoryResponseStore({ maxStored: 10 });
    await store.put(sampleResponse("resp_1", "c"), 1_000, 0);
    await store.put(sampleResponse("resp_2", "c"), 1_000, 500);
    await store.put(sampleResponse("resp_3", "c"), 1_000, 1_200);
    expect(store.size).toBe(2);
    expect(await store.get("resp_2", "c", 1_200)).toBeDefined();
  });

  it("refuses a bound that is not a positive integer", () => {
    expect(() => new MemoryResponseStore({ maxStored: 0 })).toThrow(RangeError);
    expect(() => new MemoryResponseStore({ maxStored: 1.5 })).toThrow(RangeError);
  });
});
