import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { silentLogger } from "../actor/index.js";
import { ManualClock } from "../testkit/manual-clock.js";
import { Membership, type MembershipOptions } from "./membership.js";
import { StoreAvailability } from "./store-availability.js";

const redis = useRedis();

/** Fires the next heartbeat and waits until its round (a Redis round trip) armed the one after. */
async function beat(clock: ManualClock): Promise<void> {
  const rearmed = clock.nextTimerScheduled();
  await clock.advance(1_000);
  await rearmed;
}

function member(prefix: string, nodeId: string, overrides: Partial<MembershipOptions> = {}) {
  const states: string[] = [];
  const availability = new StoreAvailability(silentLogger);
  availability.onChange((state) => states.push(state));
  const client = redis.connect();
  const membership = new Membership({
    client,
    prefix,
    nodeId,
    url: `http://127.0.0.1:${nodeId.length}`,
    version: "0.1.0",
    heartbeatMs: 1_000,
    nodeTimeoutMs: 3_000,
    clock: new ManualClock(),
    logger: silentLogger,
    report: () => ({
      replicas: [{ deployment: "gpt", running: 1, waiting: 2 }],
      inFlight: 3,
      modelSlots: 2,
      models: [{ path: "models/tiny.gguf", bytes: 1234 }],
      missingModels: ["models/new.gguf"],
      freeGpus: 1,
    }),
    availability,
    ...overrides,
  });
  return { membership, states, client };
}

describe("Membership", () => {
  it("every node sees every live node after a heartbeat round, with its report", async () => {
    const prefix = redis.prefix();
    const a = member(prefix, "node-a");
    const b = member(prefix, "node-b");
    await a.membership.start();
    await b.membership.start();
    expect(b.membership.view().nodes.map((node) => node.nodeId)).toEqual(["node-a", "node-b"]);
    const seen = b.membership.view().nodes[0];
    expect(seen).toMatchObject({
      nodeId: "node-a",
      url: "http://127.0.0.1:6",
      version: "0.1.0",
      inFlight: 3,
      replicas: [{ deployment: "gpt", running: 1, waiting: 2 }],
      modelSlots: 2,
      models: [{ path: "models/tiny.gguf", bytes: 1234 }],
      missingModels: ["models/new.gguf"],
      freeGpus: 1,
    });
    expect(seen?.heartbeatAgeMs).toBeGreaterThanOrEqual(0);
    expect(seen?.heartbeatAgeMs).toBeLessThan(3_000);
    expect(b.membership.view().store).toBe("available");
    await a.membership.stop();
    await b.membership.stop();
  });

  it("a node that leaves is gone from the others' view at their next heartbeat", async () => {
    const prefix = redis.prefix();
    const clock = new ManualClock();
    const a = member(prefix, "node-a");
    const b = member(prefix, "node-b", { clock });
    await a.membership.start();
    await b.membership.start();
    await a.membership.stop();
    expect(b.membership.view().nodes).toHaveLength(2);
    await beat(clock);
    expect(b.membership.view().nodes.map((node) => node.nodeId)).toEqual(["node-b"]);
    await b.membership.stop();
  });

  it("a node whose heartbeat is older than node_timeout_ms is dead (Redis's expiry)", async () => {
    const prefix = redis.prefix();
    const clock = new ManualClock();
    // node-a beats once with a short timeout and never again (its clock never advances)
    const a = member(prefix, "node-a", { nodeTimeoutMs: 150, heartbeatMs: 100 });
    const b = member(prefix, "node-b", { clock });
    await a.membership.start();
    await b.membership.start();
    expect(b.membership.view().nodes).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 250)); // Redis's own clock expires the record
    await beat(clock);
    expect(b.membership.view().nodes.map((node) => node.nodeId)).toEqual(["node-b"]);
    await a.membership.stop();
    await b.membership.stop();
  });

  it("a heartbeat that cannot reach Redis marks the store unavailable once, and a later one available again", async () => {
    const prefix = redis.prefix();
    const clock = new ManualClock();
    const a = member(prefix, "node-a", { clock });
    await a.membership.start();
    expect(a.membership.view().store).toBe("available");
    await redis.server.kill();
    await beat(clock);
    expect(a.membership.view().store).toBe("unavailable");
    await beat(clock);
    expect(a.states).toEqual(["unavailable"]);
    expect(a.membership.view().nodes.map((node) => node.nodeId)).toEqual(["node-a"]); // kept from the last one
    await redis.server.restart();
    await a.client.ping(); // its connection is back
    await beat(clock);
    expect(a.membership.view().store).toBe("available");
    expect(a.states).toEqual(["unavailable", "available"]);
    await a.membership.stop();
  }, 20_000);

  it("a report that fails still beats, with the last report", async () => {
    const prefix = redis.prefix();
    const clock = new ManualClock();
    let failing = false;
    const a = member(prefix, "node-a", {
      clock,
      report: () => {
        if (failing) throw new Error("report failed");
        return { replicas: [], inFlight: 7 };
      },
    });
    await a.membership.start();
    failing = true;
    await beat(clock);
    expect(a.membership.view()).toMatchObject({
      store: "available",
      nodes: [{ nodeId: "node-a", inFlight: 7 }],
    });
    expect(a.states).toEqual([]);
    await a.membership.stop();
  });

  it("re-registers at once when the store comes back, without waiting for the next interval", async () => {
    const prefix = redis.prefix();
    const clock = new ManualClock();
    const availability = new StoreAvailability(silentLogger);
    const a = member(prefix, "node-a", { clock, availability });
    await a.membership.start();
    const client = redis.connect();
    await client.del(`${prefix}node:node-a`, `${prefix}nodes`); // as a restarted, empty Redis
    availability.markUnavailable("test");
    const rearmed = clock.nextTimerScheduled();
    availability.markAvailable(); // no clock advance: the heartbeat runs now
    await rearmed;
    expect(await client.smembers(`${prefix}nodes`)).toEqual(["node-a"]);
    await a.membership.stop();
  });
});
