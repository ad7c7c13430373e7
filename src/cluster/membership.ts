// Cluster membership (docs/cluster.md, "Membership"): every node writes a heartbeat record to Redis
// every `heartbeat_ms`, with an expiry of `node_timeout_ms`, and reads the others' records in the
// same round trip. Liveness is the record's existence, so it is judged on Redis's clock alone: a
// node whose heartbeat is older than node_timeout_ms has no record and is dead for every node.

import type { Redis } from "ioredis";
import type { Clock, Logger } from "../actor/index.js";
import { registerScript, type ScriptCall } from "./redis-scripts.js";
import { StoreAvailability, type StoreState } from "./store-availability.js";

export type { StoreState } from "./store-availability.js";

/** What a node says about itself in each heartbeat. */
export interface NodeReport {
  /** Its deployments' replicas on this node, with their load. */
  readonly replicas: ReadonlyArray<{
    readonly deployment: string;
    readonly running: number;
    readonly waiting: number;
  }>;
  /** Requests this node's gateway is handling now. */
  readonly inFlight: number;
  /** `[cluster] model_slots`: local model replicas this node may hold (placement's input). */
  readonly modelSlots?: number;
  /** The model files of local deployments this node can read, with their sizes (placement's input). */
  readonly models?: ReadonlyArray<{ readonly path: string; readonly bytes: number }>;
  /** The model files of local deployments this node looked for and cannot read (placement's input). */
  readonly missingModels?: readonly string[];
  /** GPUs free beside this node's replicas, once counted (a node that ran no GPU replica has not). */
  readonly freeGpus?: number;
  /** Set while the node shuts down: placement moves its replicas to other nodes. */
  readonly draining?: boolean;
  /** Deployment → the nodes its routing copy can send requests to (live, non-draining targets). */
  readonly routes?: Readonly<Record<string, readonly string[]>>;
}

export interface NodeRecord extends NodeReport {
  readonly nodeId: string;
  readonly url: string;
  readonly version: string;
  /** ms since epoch, the node's own clock. */
  readonly startedAt: number;
  /** How long ago (ms, Redis's clock) the node's last heartbeat was written. */
  readonly heartbeatAgeMs: number;
}

/** What the last heartbeat round learned; read without a Redis call (readiness, admin API). */
export interface MembershipView {
  readonly nodeId: string;
  readonly store: StoreState;
  /** Live nodes, this one included when its heartbeat landed, sorted by id. */
  readonly nodes: readonly NodeRecord[];
}

export interface MembershipOptions {
  readonly client: Redis;
  readonly prefix: string;
  readonly nodeId: string;
  readonly url: string;
  readonly version: string;
  readonly heartbeatMs: number;
  readonly nodeTimeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Called before each heartbeat for the node's replicas and in-flight requests. */
  readonly report: () => Promise<NodeReport> | NodeReport;
  /**
   * The node's one answer to "is Redis reachable" (the failover stores share it): each heartbeat
   * that lands marks it available, each that fails unavailable; it logs once per change. Default:
   * one of the membership's own.
   */
  readonly availability?: StoreAvailability;
}

// KEYS[1] the node-id set, KEYS[2] this node's record key. ARGV: [1] id, [2] json, [3] ttl ms,
// [4] the record key prefix. Writes this node's record, then returns every live node's record with
// its remaining ttl, dropping ids whose record expired.
const HEARTBEAT_LUA = `
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[1], ARGV[1])
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[4] .. id
  local record = redis.call('GET', key)
  if record then
    table.insert(out, record)
    table.insert(out, redis.call('PTTL', key))
  else
    redis.call('SREM', KEYS[1], id)
  end
end
return out
`;

export class Membership {
  readonly #options: MembershipOptions;
  readonly #heartbeat: ScriptCall;
  readonly #startedAt: number;
  readonly #availability: StoreAvailability;
  #view: MembershipView;
  #cancel: () => void = () => {};
  #started = false;
  #stopped = false;
  #unsubscribe: () => void = () => {};
  #lastReport: NodeReport = { replicas: [], inFlight: 0 };
  /** The heartbeat round in flight, so stop() waits for it. */
  #round: Promise<void> = Promise.resolve();

  constructor(options: MembershipOptions) {
    this.#options = options;
    this.#heartbeat = registerScript(options.client, {
      name: "rakkaHeartbeat",
      numberOfKeys: 2,
      lua: HEARTBEAT_LUA,
    });
    this.#startedAt = options.clock.now();
    this.#availability = options.availability ?? new StoreAvailability(options.logger);
    this.#view = { nodeId: options.nodeId, store: "available", nodes: [] };
  }

  /**
   * The cluster wiring calls this once the gateway listens: the first heartbeat, then one per
   * interval, and one at once whenever the store comes back (re-registering this node).
   */
  async start(): Promise<void> {
    this.#started = true;
    this.#unsubscribe = this.#availability.onChange((state) => {
      if (state === "available") this.#beatNow();
    });
    this.#round = this.#beat();
    await this.#round;
    this.#schedule();
  }

  /** What the last round saw; `store` is the node's state now. */
  view(): MembershipView {
    return { ...this.#view, store: this.#availability.state };
  }

  /** At shutdown: no more heartbeats, and this node's record is deleted (others see it leave at once). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    this.#cancel();
    await this.#round;
    const { client, prefix, nodeId } = this.#options;
    await client
      .multi()
      .del(`${prefix}node:${nodeId}`)
      .srem(`${prefix}nodes`, nodeId)
      .exec()
      .catch(() => undefined);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#cancel();
    this.#cancel = this.#options.clock.setTimer(this.#options.heartbeatMs, () => this.#nextRound());
  }

  /** The store is back: beat now rather than at the next interval (after the round in flight, if any). */
  #beatNow(): void {
    if (!this.#started || this.#stopped) return;
    this.#cancel();
    this.#nextRound();
  }

  #nextRound(): void {
    this.#round = this.#round.then(() => this.#beat()).finally(() => this.#schedule());
  }

  async #beat(): Promise<void> {
    const options = this.#options;
    const { prefix, nodeId } = options;
    let report = this.#lastReport;
    try {
      report = await options.report();
      this.#lastReport = report;
    } catch (error) {
      // the node itself failed to say what it serves: it still beats, with what it said last
      options.logger.debug({ error: (error as Error).message }, "cluster heartbeat report failed");
    }
    try {
      const own = {
        nodeId,
        url: options.url,
        version: options.version,
        startedAt: this.#startedAt,
        replicas: report.replicas,
        inFlight: report.inFlight,
        ...(report.modelSlots === undefined ? {} : { modelSlots: report.modelSlots }),
        ...(report.models === undefined ? {} : { models: report.models }),
        ...(report.missingModels?.length ? { missingModels: report.missingModels } : {}),
        ...(report.freeGpus === undefined ? {} : { freeGpus: report.freeGpus }),
        ...(report.draining ? { draining: true } : {}),
        ...(report.routes ? { routes: report.routes } : {}),
      };
      const reply = (await this.#heartbeat(
        [`${prefix}nodes`, `${prefix}node:${nodeId}`],
        [nodeId, JSON.stringify(own), options.nodeTimeoutMs, `${prefix}node:`],
      )) as Array<string | number>;
      const nodes: NodeRecord[] = [];
      for (let index = 0; index + 1 < reply.length; index += 2) {
        const record = parseRecord(String(reply[index]), Number(reply[index + 1]), options.nodeTimeoutMs);
        if (record) nodes.push(record);
      }
      nodes.sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
      this.#view = { nodeId, store: "available", nodes };
      this.#availability.markAvailable();
    } catch (error) {
      // the Redis call failed: the nodes seen at the last heartbeat that landed stay (each node's
      // share while the store is unavailable is counted from them)
      options.logger.debug({ error: (error as Error).message }, "cluster heartbeat failed");
      this.#availability.markUnavailable(`heartbeat failed: ${(error as Error).message}`);
    }
  }
}

function isRoutes(value: unknown): value is Record<string, string[]> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every(
    (nodes) => Array.isArray(nodes) && nodes.every((node) => typeof node === "string"),
  );
}

function isModelFile(value: unknown): value is { path: string; bytes: number } {
  const file = value as { path?: unknown; bytes?: unknown } | null;
  return typeof file?.path === "string" && typeof file.bytes === "number" && file.bytes >= 0;
}

/** A heartbeat record read back; undefined for a record this version cannot read. */
function parseRecord(json: string, ttlMs: number, nodeTimeoutMs: number): NodeRecord | undefined {
  try {
    const value = JSON.parse(json) as Omit<NodeRecord, "heartbeatAgeMs">;
    if (typeof value.nodeId !== "string" || typeof value.url !== "string") return undefined;
    return {
      nodeId: value.nodeId,
      url: value.url,
      version: String(value.version),
      startedAt: Number(value.startedAt),
      replicas: Array.isArray(value.replicas) ? value.replicas : [],
      inFlight: Number(value.inFlight) || 0,
      ...(Number.isInteger(value.modelSlots) && (value.modelSlots as number) >= 0
        ? { modelSlots: value.modelSlots as number }
        : {}),
      ...(Array.isArray(value.models) ? { models: value.models.filter(isModelFile) } : {}),
      ...(Number.isInteger(value.freeGpus) && (value.freeGpus as number) >= 0
        ? { freeGpus: value.freeGpus as number }
        : {}),
      ...(Array.isArray(value.missingModels)
        ? { missingModels: value.missingModels.filter((path) => typeof path === "string") }
        : {}),
      ...(value.draining === true ? { draining: true } : {}),
      ...(isRoutes(value.routes) ? { routes: value.routes } : {}),
      heartbeatAgeMs: Math.max(0, nodeTimeoutMs - Math.max(0, ttlMs)),
    };
  } catch {
    return undefined;
  }
}
