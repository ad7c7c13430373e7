// The per-node copy of the shared circuits: the CircuitStateStore contract on a real redis-server,
// no Redis command for an update that changes nothing, and a change on one node seen by another
// through the change notice (or, when a notice is missed, the next refresh).

import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { circuitStateStoreContract } from "../core/stores/circuit-state-store.contract.js";
import { type CircuitRecord, closedCircuit } from "../core/stores/index.js";
import { until } from "../testkit/manual-clock.js";
import { CachedCircuitStateStore } from "./cached-circuit-state-store.js";
import { RedisCircuitStateStore } from "./redis-circuit-state-store.js";

const redis = useRedis();

async function cached(prefix: string, client: Redis = redis.connect()): Promise<CachedCircuitStateStore> {
  const store = new CachedCircuitStateStore({
    inner: new RedisCircuitStateStore({ client, prefix }),
    client,
    subscriber: client.duplicate(),
    prefix,
  });
  await store.start();
  return store;
}

circuitStateStoreContract("CachedCircuitStateStore", () => cached(redis.prefix()));

const open = (current: CircuitRecord): CircuitRecord => ({
  ...current,
  state: "open",
  consecutiveFailures: 5,
  openedAt: 1_000,
  retryAt: 31_000,
});

/** Counts the commands a client sends (ioredis sendCommand). */
function countCommands(client: Redis): { readonly count: number } {
  const counter = { count: 0 };
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((...args: Parameters<Redis["sendCommand"]>) => {
    counter.count++;
    return send(...args);
  }) as Redis["sendCommand"];
  return counter;
}

describe("CachedCircuitStateStore", () => {
  it("an update that changes nothing sends no command once the circuit is known", async () => {
    const client = redis.connect();
    const store = await cached(redis.prefix(), client);
    await store.get("e1");
    const sent = countCommands(client);
    for (let i = 0; i < 100; i++)
      expect(await store.update("e1", (current) => current)).toEqual(closedCircuit());
    expect(sent.count).toBe(0);
  });

  it("a circuit opened on one node is seen open by another through the change notice", async () => {
    const prefix = redis.prefix();
    const nodeA = await cached(prefix);
    const nodeB = await cached(prefix);
    expect((await nodeB.get("e1")).state).toBe("closed");
    await nodeA.update("e1", open);
    let seen = "closed";
    await until(() => {
      void nodeB.get("e1").then((record) => {
        seen = record.state;
      });
      return seen === "open";
    }, 100_000);
    expect(seen).toBe("open");
  });

  it("a missed notice heals at the next refresh", async () => {
    const prefix = redis.prefix();
    const nodeB = await cached(prefix);
    expect((await nodeB.get("e1")).state).toBe("closed");
    // a writer that announces nothing (the notice is lost)
    await new RedisCircuitStateStore({ client: redis.client, prefix }).update("e1", open);
    expect((await nodeB.get("e1")).state).toBe("closed");
    await nodeB.refresh();
    expect((await nodeB.get("e1")).state).toBe("open");
  });
});
