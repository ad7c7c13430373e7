// The behaviour every ResponseStore must have, as one vitest suite each implementation runs:
// memory-response-store.test.ts and src/cluster/redis-response-store.test.ts. Call it with a
// factory that returns a fresh, empty store for each test. Time is the callers' `nowMs`.

import { describe, expect, it } from "vitest";
import type { ResponseStore, StoredResponse } from "./response-store.js";

const HOUR_MS = 3_600_000;
const T0 = Date.UTC(2026, 11, 2, 10, 0);

/** A record with a conversation that exercises what a round trip could lose. */
export function sampleResponse(id: string, clientId: string, text = "Hello — ✓"): StoredResponse {
  return {
    id,
    clientId,
    response: {
      id,
      object: "response",
      status: "completed",
      output: [
        {
          id: `msg_0_${id}`,
          type: "message",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text, annotations: [] }],
        },
      ],
      metadata: { topic: "tests" },
      temperature: null,
    },
    history: [
      { role: "system", content: "be brief" },
      {
        role: "user",
        content: [
          { type: "text", text: "what is in this image?" },
          { type: "image", source: { kind: "base64", mediaType: "image/png", data: "iVBORw0KGgo=" } },
        ],
      },
      {
        role: "assistant",
        content: null,
        toolCalls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "look", arguments: '{"zoom":2}' },
            signature: "sig-1",
          },
        ],
        reasoningBlocks: [{ type: "thinking", thinking: "let me look", signature: "sig-a" }],
      },
      { role: "tool", toolCallId: "call_1", content: "a cat" },
    ],
  };
}

export function responseStoreContract(
  name: string,
  create: () => Promise<ResponseStore> | ResponseStore,
): void {
  describe(`${name} (ResponseStore contract)`, () => {
    it("get returns exactly what put stored", async () => {
      const store = await create();
      const record = sampleResponse("resp_a", "client-1");
      await store.put(record, HOUR_MS, T0);
      expect(await store.get("resp_a", "client-1", T0 + 1)).toEqual(record);
    });

    it("an unknown id reads as undefined and deletes as false", async () => {
      const store = await create();
      expect(await store.get("resp_missing", "client-1", T0)).toBeUndefined();
      expect(await store.delete("resp_missing", "client-1", T0)).toBe(false);
    });

    it("another client's record does not exist for it: not read, not deleted", async () => {
      const store = await create();
      await store.put(sampleResponse("resp_a", "client-1"), HOUR_MS, T0);
      expect(await store.get("resp_a", "client-2", T0)).toBeUndefined();
      expect(await store.get("resp_a", "", T0)).toBeUndefined();
      expect(await store.delete("resp_a", "client-2", T0)).toBe(false);
      expect((await store.get("resp_a", "client-1", T0))?.id).toBe("resp_a");
    });

    it('the client without a key (clientId "") owns its records like any other', async () => {
      const store = await create();
      await store.put(sampleResponse("resp_open", ""), HOUR_MS, T0);
      expect((await store.get("resp_open", "", T0))?.clientId).toBe("");
      expect(await store.get("resp_open", "client-1", T0)).toBeUndefined();
    });

    it("a record lives for its TTL and not a millisecond longer", async () => {
      const store = await create();
      await store.put(sampleResponse("resp_a", "c"), 60_000, T0);
      expect(await store.get("resp_a", "c", T0 + 59_999)).toBeDefined();
      expect(await store.get("resp_a", "c", T0 + 60_000)).toBeUndefined();
      expect(await store.delete("resp_a", "c", T0 + 60_000)).toBe(false);
    });

    it("delete removes it once", async () => {
      const store = await create();
      await store.put(sampleResponse("resp_a", "c"), HOUR_MS, T0);
      await store.put(sampleResponse("resp_b", "c"), HOUR_MS, T0);
      expect(await store.delete("resp_a", "c", T0)).toBe(true);
      expect(await store.get("resp_a", "c", T0)).toBeUndefined();
      expect(await store.delete("resp_a", "c", T0)).toBe(false);
      expect((await store.get("resp_b", "c", T0))?.id).toBe("resp_b");
    });

    it("a put with the same id replaces the record and its TTL", async () => {
      const store = await create();
      await store.put(sampleResponse("resp_a", "c", "first"), 60_000, T0);
      await store.put(sampleResponse("resp_a", "c", "second"), 120_000, T0 + 30_000);
      const read = await store.get("resp_a", "c", T0 + 100_000);
      expect(read).toEqual(sampleResponse("resp_a", "c", "second"));
    });

    it("a put never replaces another client's live record with the same id: it rejects, the record stays", async () => {
      const store = await create();
      await store.put(sampleResponse("resp_a", "owner", "mine"), 60_000, T0);
      await expect(store.put(sampleResponse("resp_a", "intruder", "theirs"), 60_000, T0)).rejects.toThrow(
        /another client/,
      );
      expect(await store.get("resp_a", "owner", T0)).toEqual(sampleResponse("resp_a", "owner", "mine"));
      expect(await store.get("resp_a", "intruder", T0)).toBeUndefined();
      // once it expired, the id is free again
      await store.put(sampleResponse("resp_a", "intruder", "theirs"), 60_000, T0 + 60_000);
      expect((await store.get("resp_a", "intruder", T0 + 60_000))?.clientId).toBe("intruder");
    });

    it("what a caller does to a record it read or stored never changes the stored one", async () => {
      const store = await create();
      const record = sampleResponse("resp_a", "c");
      await store.put(record, HOUR_MS, T0);
      (record.history as unknown[]).length = 0;
      const read = (await store.get("resp_a", "c", T0)) as StoredResponse;
      (read.response as Record<string, unknown>).status = "failed";
      expect(await store.get("resp_a", "c", T0)).toEqual(sampleResponse("resp_a", "c"));
    });

    it("a TTL that is not a positive finite number is refused, and nothing is kept", async () => {
      const store = await create();
      for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(store.put(sampleResponse("resp_a", "c"), ttl, T0)).rejects.toBeInstanceOf(RangeError);
      }
      expect(await store.get("resp_a", "c", T0)).toBeUndefined();
    });
  });
}
