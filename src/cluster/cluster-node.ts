// A process as one node of a cluster (docs/cluster.md): one Redis connection made from
// `[cluster] redis_url`, the Redis stores every engine and the budget share through it, and this
// node's membership (heartbeats). The package entry builds it when the config has a [cluster]
// table and hands the stores to the serving layer; nothing else changes between one process and N.

import { hostname } from "node:os";
import type { Redis } from "ioredis";
import type { Clock, Logger } from "../actor/index.js";
import type { ClusterConfig } from "../core/config/cluster-schema.js";
import type { CircuitStateStore, RateLimitStore, SpendLedger } from "../core/stores/index.js";
import { Membership, type MembershipView, type NodeReport } from "./membership.js";
import { RedisCircuitStateStore } from "./redis-circuit-state-store.js";
import { createRedisConnection } from "./redis-connection.js";
import { RedisRateLimitStore } from "./redis-rate-limit-store.js";
import { RedisSpendLedger } from "./redis-spend-ledger.js";

export interface ClusterNodeOptions {
  readonly config: ClusterConfig;
  /** The port from [server] bind: the default node id is `<hostname>-<port>` (the pid for port 0). */
  readonly port: number;
  readonly version: string;
  readonly clock: Clock;
  readonly logger: Logger;
}

export interface ClusterNode {
  readonly nodeId: string;
  /** The shared stores, handed to the serving layer in place of the memory ones. */
  readonly stores: {
    readonly rateLimits: RateLimitStore;
    readonly circuits: CircuitStateStore;
    readonly ledger: SpendLedger;
  };
  /**
   * The entry calls this once the gateway listens (`url`: where it listens): the first heartbeat
   * is written before it resolves, then one every heartbeat_ms. `report` is asked before each.
   */
  join(url: string, report: () => Promise<NodeReport> | NodeReport): Promise<void>;
  /** The last heartbeat round's view; undefined before join. Read by /readyz and the admin API. */
  view(): MembershipView | undefined;
  /** At shutdown, after the drain: leaves the membership and closes the connection. */
  close(): Promise<void>;
}

export function createClusterNode(options: ClusterNodeOptions): ClusterNode {
  const { config, logger } = options;
  const nodeId = config.nodeId ?? `${hostname()}-${options.port === 0 ? process.pid : options.port}`;
  let lastError = "";
  const client: Redis = createRedisConnection(config.redisUrl.reveal(), {
    connectionName: `rakka-${nodeId}`,
    onError: (error) => {
      // ioredis repeats the error on every reconnect attempt: log each distinct one once
      if (error.message === lastError) return;
      lastError = error.message;
      logger.debug({ error: error.message }, "cluster store connection error");
    },
  });
  client.on("ready", () => {
    lastError = "";
  });
  const prefix = config.keyPrefix;
  const stores = {
    rateLimits: new RedisRateLimitStore({ client, prefix }),
    circuits: new RedisCircuitStateStore({ client, prefix }),
    ledger: new RedisSpendLedger({ client, prefix }),
  };
  let membership: Membership | undefined;
  return {
    nodeId,
    stores,
    async join(url, report) {
      membership = new Membership({
        client,
        prefix,
        nodeId,
        url: config.advertiseUrl ?? advertisable(url),
        version: options.version,
        heartbeatMs: config.heartbeatMs,
        nodeTimeoutMs: config.nodeTimeoutMs,
        clock: options.clock,
        logger,
        report,
      });
      await membership.start();
      logger.info({ nodeId, nodes: membership.view().nodes.length }, "joined the cluster");
    },
    view: () => membership?.view(),
    async close() {
      await membership?.stop();
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/** The listening URL as other nodes can use it: a wildcard host becomes this machine's name. */
function advertisable(url: string): string {
  return url.replace(/^http:\/\/(0\.0\.0\.0|\[::\])(?=:)/, `http://${hostname()}`);
}
