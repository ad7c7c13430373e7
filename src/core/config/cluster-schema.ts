// The [cluster] table: with it this process is one node of a cluster sharing one Redis (the shared
// stores, membership, the catalog; docs/cluster.md). Without it nothing changes and the process
// needs nothing else.

import { z } from "zod";
import type { Secret } from "../secret.js";
import type { Problem } from "./problem.js";
import { secretSchema } from "./secret-schema.js";

export interface ClusterConfig {
  /** The Redis server's URL: a secret (its password may be in it); never printed. */
  readonly redisUrl: Secret;
  /** This node's id in membership, request ids and the admin API; default `<hostname>-<port>`. */
  readonly nodeId?: string;
  /** How other nodes reach this one; default `http://<bind>`. */
  readonly advertiseUrl?: string;
  /** The same on every node: keys the catalog's encryption of inline secrets (docs/cluster.md). */
  readonly nodeKey: Secret;
  readonly keyPrefix: string;
  readonly heartbeatMs: number;
  /** A node whose heartbeat is older than this is dead for every other node. */
  readonly nodeTimeoutMs: number;
  /** While Redis is unreachable: serve from per-node memory ("open") or refuse with 503 ("closed"). */
  readonly onStoreUnavailable: "open" | "closed";
  /** How many llama replicas the cluster's placement may put on this node (default 1; docs/cluster.md). */
  readonly modelSlots?: number;
  /** Whether this node runs engines for remote providers (without: it forwards those requests). */
  readonly egress: boolean;
}

export const clusterDefaults = {
  keyPrefix: "rakka:",
  heartbeatMs: 1_000,
  nodeTimeoutMs: 3_000,
  onStoreUnavailable: "open",
  egress: true,
} as const;

export const clusterTableSchema = z.strictObject({
  redis_url: secretSchema,
  node_id: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,128}$/, "must be 1 to 128 letters, digits, '.', '_', ':' or '-'")
    .optional(),
  advertise_url: z
    .string()
    .regex(/^https?:\/\/[^/?#@\s]+$/, 'must be "http(s)://host:port" with no path or user info')
    .optional(),
  node_key: secretSchema,
  key_prefix: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/, "must be 1 to 64 letters, digits, '.', '_', ':' or '-'")
    .default(clusterDefaults.keyPrefix),
  heartbeat_ms: z.int().min(50).max(60_000).default(clusterDefaults.heartbeatMs),
  node_timeout_ms: z.int().min(100).max(600_000).default(clusterDefaults.nodeTimeoutMs),
  on_store_unavailable: z.enum(["open", "closed"]).default(clusterDefaults.onStoreUnavailable),
  model_slots: z.int().min(0).max(1024).optional(),
  egress: z.boolean().default(clusterDefaults.egress),
});

export type ClusterTable = z.output<typeof clusterTableSchema>;

/** Problems between keys of a table that parsed (listed with the secrets' problems). */
export function clusterTableProblems(table: ClusterTable): Problem[] {
  if (table.node_timeout_ms > table.heartbeat_ms) return [];
  return [
    {
      path: "cluster.node_timeout_ms",
      message: `must be greater than heartbeat_ms (${table.heartbeat_ms})`,
    },
  ];
}

/** The parsed table as ClusterConfig (camelCase; optional keys left out when absent). */
export function toClusterConfig(table: ClusterTable): ClusterConfig {
  return {
    redisUrl: table.redis_url,
    ...(table.node_id === undefined ? {} : { nodeId: table.node_id }),
    ...(table.advertise_url === undefined ? {} : { advertiseUrl: table.advertise_url }),
    nodeKey: table.node_key,
    keyPrefix: table.key_prefix,
    heartbeatMs: table.heartbeat_ms,
    nodeTimeoutMs: table.node_timeout_ms,
    onStoreUnavailable: table.on_store_unavailable,
    ...(table.model_slots === undefined ? {} : { modelSlots: table.model_slots }),
    egress: table.egress,
  };
}
