// Runs the DeploymentCatalog contract against RedisDeploymentCatalog on a real redis-server, plus
// what only a shared catalog can get wrong: writers on two connections racing from one version.

import { describe, expect, it } from "vitest";
import { useRedis } from "../../test/support/redis-fixture.js";
import { deploymentCatalogContract } from "../core/stores/deployment-catalog.contract.js";
import type { DeploymentRecord } from "../core/stores/index.js";
import { RedisDeploymentCatalog } from "./redis-deployment-catalog.js";

const redis = useRedis();

deploymentCatalogContract(
  "RedisDeploymentCatalog",
  () => new RedisDeploymentCatalog({ client: redis.client, prefix: redis.prefix() }),
);

const record = (version: number, writer: string): DeploymentRecord => ({
  name: "chat",
  spec: { writer },
  state: "serving",
  version,
  updatedAt: version,
});

describe("RedisDeploymentCatalog on Redis", () => {
  it("of 20 creators on two connections exactly one creates the record", async () => {
    const prefix = redis.prefix();
    const nodes = [
      new RedisDeploymentCatalog({ client: redis.client, prefix }),
      new RedisDeploymentCatalog({ client: redis.connect(), prefix }),
    ];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => nodes[i % 2]!.compareAndPut(record(1, `w${i}`), 0)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    expect(await nodes[1]!.get("chat")).toEqual(record(1, `w${winner}`));
  });

  it("writers that re-read and retry on false apply every change once, in some order", async () => {
    const prefix = redis.prefix();
    const nodes = [
      new RedisDeploymentCatalog({ client: redis.client, prefix }),
      new RedisDeploymentCatalog({ client: redis.connect(), prefix }),
    ];
    await nodes[0]!.put(record(1, "start"));
    const bump = async (node: RedisDeploymentCatalog, writer: string): Promise<void> => {
      for (;;) {
        const current = (await node.get("chat"))!;
        const spec = current.spec as { writer: string };
        if (
          await node.compareAndPut(record(current.version + 1, `${spec.writer},${writer}`), current.version)
        )
          return;
      }
    };
    await Promise.all(Array.from({ length: 10 }, (_, i) => bump(nodes[i % 2]!, `w${i}`)));
    const final = (await nodes[0]!.get("chat"))!;
    expect(final.version).toBe(11);
    expect((final.spec as { writer: string }).writer.split(",").sort()).toEqual(
      ["start", ...Array.from({ length: 10 }, (_, i) => `w${i}`)].sort(),
    );
  });

  it("catalog records do not expire", async () => {
    const prefix = redis.prefix();
    const catalog = new RedisDeploymentCatalog({ client: redis.client, prefix });
    await catalog.put(record(1, "a"));
    expect(await redis.client.pttl(`${prefix}deployment:chat`)).toBe(-1);
  });
});
