// The placement lease (docs/cluster.md, "Placement"): one node at a time holds the string key
// `${prefix}placement-lease` (value: its node id, expiry: the lease ttl, node_timeout_ms) and runs
// placement. Every heartbeat renews it: the holder extends it, any other node takes it only when
// nobody holds it. A dead holder stops renewing, the key expires on Redis's clock, and the next
// node to beat takes over, so placement resumes within node_timeout_ms plus one heartbeat.

import type { Redis } from "ioredis";
import { registerScript, type ScriptCall } from "./redis-scripts.js";

export interface PlacementLeaseOptions {
  /** From createRedisConnection; shared with the node's other stores and owned by the caller. */
  readonly client: Redis;
  /** Prepended to the key, as for the node's other stores. */
  readonly prefix: string;
  readonly nodeId: string;
  /** How long the lease lasts without a renewal (the cluster's node_timeout_ms). */
  readonly ttlMs: number;
}

const renewScript = {
  name: "rakkaPlacementLeaseRenew",
  numberOfKeys: 1,
  // KEYS: lease key. ARGV: node id, ttl ms. → 1 when this node holds the lease now, else 0.
  lua: `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`,
};

const releaseScript = {
  name: "rakkaPlacementLeaseRelease",
  numberOfKeys: 1,
  // KEYS: lease key. ARGV: node id. → 1 when this node held the lease and gave it up.
  lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
};

export class PlacementLease {
  readonly #client: Redis;
  readonly #key: string;
  readonly #nodeId: string;
  readonly #ttlMs: number;
  readonly #renew: ScriptCall;
  readonly #release: ScriptCall;

  /** One per node, renewed by the node's heartbeat. */
  constructor(options: PlacementLeaseOptions) {
    if (!Number.isFinite(options.ttlMs) || options.ttlMs <= 0)
      throw new RangeError(`placement lease ttlMs must be a positive number, got ${options.ttlMs}`);
    if (options.nodeId === "") throw new RangeError("placement lease nodeId must not be empty");
    this.#client = options.client;
    this.#key = `${options.prefix}placement-lease`;
    this.#nodeId = options.nodeId;
    this.#ttlMs = Math.ceil(options.ttlMs);
    this.#renew = registerScript(options.client, renewScript);
    this.#release = registerScript(options.client, releaseScript);
  }

  /**
   * Called with every heartbeat: takes the lease if nobody holds it, extends it when this node
   * holds it, else leaves it. Resolves with whether this node holds it now.
   */
  async renew(): Promise<boolean> {
    return (await this.#renew([this.#key], [this.#nodeId, this.#ttlMs])) === 1;
  }

  /** The holder's node id, or undefined when nobody holds the lease (cluster status). */
  async holder(): Promise<string | undefined> {
    return (await this.#client.get(this.#key)) ?? undefined;
  }

  /**
   * At graceful shutdown: gives the lease up only if this node holds it, so another node takes
   * over at its next heartbeat instead of after the ttl.
   */
  async release(): Promise<void> {
    await this.#release([this.#key], [this.#nodeId]);
  }
}
