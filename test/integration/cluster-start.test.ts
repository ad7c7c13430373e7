// A cluster node whose start fails (a deployment that does not validate) leaves nothing behind: its
// Redis connections (the stores' and the catalog's subscriber) are closed before the error reaches
// the caller. Real redis-server on loopback.
import { describe, expect, it } from "vitest";
import { createInferenceSystem, Secret } from "../../src/index.js";
import { ManualClock } from "../../src/testkit/manual-clock.js";
import { useRedis } from "../support/redis-fixture.js";

const redis = useRedis();

/** Clients connected to the server now, named by the node (rakka-<node id>). */
async function nodeConnections(nodeId: string): Promise<number> {
  const list = String(await redis.client.call("CLIENT", "LIST"));
  return list.split("\n").filter((line) => line.includes(`name=rakka-${nodeId}`)).length;
}

describe("a cluster node that fails to start", () => {
  it("rejects with the deployment's problem and closes its Redis connections", async () => {
    const nodeId = `start-${process.pid}`;
    const starting = createInferenceSystem({
      clock: new ManualClock(),
      cluster: {
        redisUrl: Secret.inline(redis.server.url),
        nodeId,
        nodeKey: Secret.inline("node-key"),
        keyPrefix: redis.prefix(),
        heartbeatMs: 1_000,
        nodeTimeoutMs: 3_000,
        onStoreUnavailable: "open",
        egress: true,
      },
      deployments: [{ name: "bad", model: "m", runtime: "mock", replicas: 0 }],
    });
    await expect(starting).rejects.toMatchObject({ kind: "bad_request" });
    // a connection left open would have named itself by now (CLIENT SETNAME on connect)
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await nodeConnections(nodeId)).toBe(0);
  });
});
