import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { silentLogger } from "../actor/index.js";
import { ManualClock } from "../testkit/manual-clock.js";
import { Membership, type MembershipOptions } from "./membership.js";

const redis = useRedis();

/** Fires the next heartbeat and waits until its round (a Redis round trip) armed the one after. */
async function beat(clock: ManualClock): Promise<void> {
  const rearmed = clock.nextTimerScheduled();
  await clock.advance(1_000);
  await rearmed;
}

function member(prefix: string, nodeId: string, overrides: Partial<MembershipOptions> = {}) {
  const states: string[] = [];
  const membership = new Membership({
    client: redis.connect(),
    prefix,
    nodeId,
    url: `http://127.0.0.1:${nodeId.length}`,
    version: "0.1.0",
    heartbeatMs: 1_000,
    nodeTimeoutMs: 3_000,
    clock: new ManualClock(),
    logger: silentLogger,
    report: () => ({ replicas: [{ deployment: "gpt", running: 1, waiting: 2 }], inFlight: 3 }),
    onStoreState: (state) => states.push(state),
    ...overrides,
  });
  return { membership, states };
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

  it("a failed heartbeat marks the store unavailable once, and a later one available again", async () => {
    const prefix = redis.prefix();
    const clock = new ManualClock();
    let failing = true;
    const a = member(prefix, "node-a", {
      clock,
      report: () => {
        if (failing) throw new Error("store down");
        return { replicas: [], inFlight: 0 };
      },
    });
    await a.membership.start();
    expect(a.membership.view().store).toBe("unavailable");
    await beat(clock);
    expect(a.states).toEqual(["unavailable"]);
    failing = false;
    await beat(clock);
    expect(a.membership.view().store).toBe("available");
    expect(a.states).toEqual(["unavailable", "available"]);
    await a.membership.stop();
  });
});
