// The placement record on Redis (docs/cluster.md, "Placement"): where each local-model replica
// runs, written whole by the lease holder, and how each replica is doing, reported by the node
// that runs it. Keys:
//   `${prefix}placement-plan`            hash {version, placements: JSON [{deployment, index, nodeId}]}
//   `${prefix}placement-report:${node}`  string, JSON [{deployment, index, state, reason?, reportedAt}],
//                                        expiring after the reporter's ttl (a dead node's reports vanish)
//   `${prefix}placement-reporters`       set of the node ids with a report key, pruned on read
// The plan never expires: like the catalog it is the cluster's record, replaced only by the next
// plan. Every write and the snapshot are one Lua script each; what is read is validated, and a
// corrupted record rejects with a message naming its key.

import type { Redis } from "ioredis";
import { compareStrings, registerScript, type ScriptCall } from "./redis-scripts.js";

/** One replica's place: replica `index` (0-based) of `deployment` runs on `nodeId`. */
export interface StoredPlacement {
  readonly deployment: string;
  readonly index: number;
  readonly nodeId: string;
}

/** `waiting`: placed, waiting for its turn to replace an old replica in place. */
export type ReplicaRunState = "starting" | "waiting" | "ready" | "failed";

/** What the node running a replica says about it. */
export interface ReplicaReport {
  readonly deployment: string;
  readonly index: number;
  readonly nodeId: string;
  readonly state: ReplicaRunState;
  /** Why a replica failed (or is still starting), for cluster status. */
  readonly reason?: string;
  /** ms since epoch, the reporting node's clock. */
  readonly reportedAt: number;
}

/** A replica the plan could not place, and why (the first requirement no live node meets). */
export interface StoredUnplaced {
  readonly deployment: string;
  readonly index: number;
  readonly reason: string;
}

export interface PlacementSnapshot {
  /** Increases with every plan written; 0 before the first. */
  readonly version: number;
  /** Sorted by deployment, then index. */
  readonly placements: readonly StoredPlacement[];
  /** The replicas the plan could not place; sorted by deployment, then index. */
  readonly unplaced: readonly StoredUnplaced[];
  /** Sorted by deployment, index, then nodeId. */
  readonly reports: readonly ReplicaReport[];
}

export interface RedisPlacementStoreOptions {
  /** From createRedisConnection; shared with the node's other stores and owned by the caller. */
  readonly client: Redis;
  /** Prepended to every key, as for the node's other stores. */
  readonly prefix: string;
}

const RUN_STATES: ReadonlySet<string> = new Set<ReplicaRunState>(["starting", "waiting", "ready", "failed"]);

const writePlanScript = {
  name: "rakkaPlacementWritePlan",
  numberOfKeys: 1,
  // KEYS: plan hash. ARGV: the version planned from (0: no plan yet), placements JSON, unplaced JSON.
  // → the new version when written, 0 when the stored version differs (a stale plan). A corrupted
  // version raises with error({err = ...}): the batch script's pcall turns that into this call's error.
  lua: `
local raw = redis.call('HGET', KEYS[1], 'version')
local stored = 0
if raw then
  stored = tonumber(raw)
  if not stored then error({err = 'placement plan ' .. KEYS[1] .. ' has a corrupted version'}) end
end
if stored ~= tonumber(ARGV[1]) then return 0 end
local version = string.format('%d', stored + 1)
redis.call('HSET', KEYS[1], 'version', version, 'placements', ARGV[2], 'unplaced', ARGV[3])
return tonumber(version)
`,
};

const reportScript = {
  name: "rakkaPlacementReport",
  numberOfKeys: 2,
  // KEYS: this node's report key, reporter set. ARGV: node id, reports JSON, ttl ms.
  lua: `
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`,
};

const snapshotScript = {
  name: "rakkaPlacementSnapshot",
  numberOfKeys: 2,
  // KEYS: plan hash, reporter set. ARGV: report key prefix.
  // → {version or '', placements JSON or '', unplaced JSON or '', node id, reports JSON, ...};
  // ids whose report expired leave the set.
  lua: `
local plan = redis.call('HMGET', KEYS[1], 'version', 'placements', 'unplaced')
local out = {plan[1] or '', plan[2] or '', plan[3] or ''}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local json = redis.call('GET', ARGV[1] .. id)
  if json then
    out[#out + 1] = id
    out[#out + 1] = json
  else
    redis.call('SREM', KEYS[2], id)
  end
end
return out
`,
};

export class RedisPlacementStore {
  readonly #prefix: string;
  readonly #writePlan: ScriptCall;
  readonly #report: ScriptCall;
  readonly #snapshot: ScriptCall;

  /** One per node: the lease holder writes plans with it, every node reports and reads. */
  constructor(options: RedisPlacementStoreOptions) {
    this.#prefix = options.prefix;
    this.#writePlan = registerScript(options.client, writePlanScript);
    this.#report = registerScript(options.client, reportScript);
    this.#snapshot = registerScript(options.client, snapshotScript);
  }

  /**
   * The lease holder writes the whole plan; `ifVersion` is the snapshot version it planned from.
   * A stale one is refused (resolves false, nothing written), so two nodes that both believe they
   * hold the lease never interleave their plans.
   */
  async writePlan(
    placements: readonly StoredPlacement[],
    ifVersion: number,
    unplaced: readonly StoredUnplaced[] = [],
  ): Promise<boolean> {
    if (!Number.isSafeInteger(ifVersion) || ifVersion < 0)
      throw new RangeError(`placement plan version must be a non-negative integer, got ${ifVersion}`);
    const seen = new Set<string>();
    const plan = placements.map((placement) => {
      checkPlacement(placement);
      const slot = JSON.stringify([placement.deployment, placement.index]);
      if (seen.has(slot))
        throw new RangeError(`placement plan places ${placement.deployment}[${placement.index}] twice`);
      seen.add(slot);
      return { deployment: placement.deployment, index: placement.index, nodeId: placement.nodeId };
    });
    const left = unplaced.map((item) => {
      checkUnplaced(item);
      return { deployment: item.deployment, index: item.index, reason: item.reason };
    });
    const reply = await this.#writePlan(
      [this.#planKey()],
      [ifVersion, JSON.stringify(plan.sort(byReplica)), JSON.stringify(left.sort(byReplica))],
    );
    return reply !== 0;
  }

  /**
   * Each node writes the state of every replica it runs, replacing its previous report, expiring
   * after `ttlMs` (node_timeout_ms) so a dead node's reports vanish on their own.
   */
  async report(
    nodeId: string,
    reports: readonly Omit<ReplicaReport, "nodeId">[],
    ttlMs: number,
  ): Promise<void> {
    if (nodeId === "") throw new RangeError("placement report nodeId must not be empty");
    if (!Number.isFinite(ttlMs) || ttlMs <= 0)
      throw new RangeError(`placement report ttlMs must be a positive number, got ${ttlMs}`);
    const seen = new Set<string>();
    const stored = reports.map((report) => {
      checkReport({ ...report, nodeId });
      const slot = JSON.stringify([report.deployment, report.index]);
      if (seen.has(slot))
        throw new RangeError(`placement report of ${nodeId} has ${report.deployment}[${report.index}] twice`);
      seen.add(slot);
      return {
        deployment: report.deployment,
        index: report.index,
        state: report.state,
        ...(report.reason === undefined ? {} : { reason: report.reason }),
        reportedAt: report.reportedAt,
      };
    });
    await this.#report(
      [this.#reportKey(nodeId), this.#reportersKey()],
      [nodeId, JSON.stringify(stored), Math.ceil(ttlMs)],
    );
  }

  /** The plan and every live report in one script (the heartbeat's read, cluster status). */
  async snapshot(): Promise<PlacementSnapshot> {
    const reply = (await this.#snapshot(
      [this.#planKey(), this.#reportersKey()],
      [this.#reportKey("")],
    )) as string[];
    const [rawVersion = "", rawPlacements = "", rawUnplaced = ""] = reply;
    const planKey = this.#planKey();
    let version = 0;
    let placements: StoredPlacement[] = [];
    let unplaced: StoredUnplaced[] = [];
    if (rawVersion !== "" || rawPlacements !== "") {
      version = Number(rawVersion);
      if (rawVersion === "" || !Number.isSafeInteger(version) || version < 1)
        throw new TypeError(
          `placement plan ${planKey} has a corrupted version: ${JSON.stringify(rawVersion)}`,
        );
      placements = parseList(planKey, rawPlacements, (item) => {
        checkPlacement(item as StoredPlacement);
        const { deployment, index, nodeId } = item as StoredPlacement;
        return { deployment, index, nodeId };
      });
      // a plan written before unplaced replicas were stored has none
      if (rawUnplaced !== "")
        unplaced = parseList(planKey, rawUnplaced, (item) => {
          checkUnplaced(item as StoredUnplaced);
          const { deployment, index, reason } = item as StoredUnplaced;
          return { deployment, index, reason };
        });
    }
    const reports: ReplicaReport[] = [];
    for (let i = 3; i + 1 < reply.length; i += 2) {
      const nodeId = reply[i]!;
      const key = this.#reportKey(nodeId);
      reports.push(
        ...parseList(key, reply[i + 1]!, (item) => {
          const report = { ...(item as Omit<ReplicaReport, "nodeId">), nodeId };
          checkReport(report);
          const { deployment, index, state, reason, reportedAt } = report;
          return {
            deployment,
            index,
            nodeId,
            state,
            ...(reason === undefined ? {} : { reason }),
            reportedAt,
          };
        }),
      );
    }
    placements.sort(byReplica);
    unplaced.sort(byReplica);
    reports.sort((a, b) => byReplica(a, b) || compareStrings(a.nodeId, b.nodeId));
    return { version, placements, unplaced, reports };
  }

  #planKey(): string {
    return `${this.#prefix}placement-plan`;
  }

  #reportKey(nodeId: string): string {
    return `${this.#prefix}placement-report:${nodeId}`;
  }

  #reportersKey(): string {
    return `${this.#prefix}placement-reporters`;
  }
}

function byReplica(
  a: { readonly deployment: string; readonly index: number },
  b: { readonly deployment: string; readonly index: number },
): number {
  return compareStrings(a.deployment, b.deployment) || a.index - b.index;
}

/** A JSON array from `key`, each item checked by `read` (which throws on a bad one). */
function parseList<T>(key: string, json: string, read: (item: unknown) => T): T[] {
  try {
    const value: unknown = JSON.parse(json);
    if (!Array.isArray(value)) throw new TypeError("not a JSON array");
    return value.map(read);
  } catch (error) {
    throw new TypeError(`placement record ${key} is corrupted: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function checkPlacement(placement: StoredPlacement): void {
  if (typeof placement !== "object" || placement === null) throw new TypeError("placement is not an object");
  checkReplica(placement);
  if (typeof placement.nodeId !== "string" || placement.nodeId === "")
    throw new TypeError(`placement of ${placement.deployment}[${placement.index}] has no nodeId`);
}

function checkUnplaced(item: StoredUnplaced): void {
  if (typeof item !== "object" || item === null) throw new TypeError("unplaced replica is not an object");
  checkReplica(item);
  if (typeof item.reason !== "string")
    throw new TypeError(`unplaced replica ${item.deployment}[${item.index}] has no reason`);
}

function checkReport(report: ReplicaReport): void {
  if (typeof report !== "object" || report === null) throw new TypeError("replica report is not an object");
  checkReplica(report);
  const replica = `${report.deployment}[${report.index}]`;
  if (!RUN_STATES.has(report.state as string))
    throw new TypeError(`replica report of ${replica} has state ${JSON.stringify(report.state)}`);
  if (report.reason !== undefined && typeof report.reason !== "string")
    throw new TypeError(`replica report of ${replica} has a reason that is not a string`);
  if (typeof report.reportedAt !== "number" || !Number.isFinite(report.reportedAt))
    throw new TypeError(`replica report of ${replica} has reportedAt ${JSON.stringify(report.reportedAt)}`);
}

function checkReplica(replica: { readonly deployment: unknown; readonly index: unknown }): void {
  if (typeof replica.deployment !== "string" || replica.deployment === "")
    throw new TypeError(`replica has deployment ${JSON.stringify(replica.deployment)}`);
  if (!Number.isSafeInteger(replica.index) || (replica.index as number) < 0)
    throw new TypeError(`replica of ${replica.deployment} has index ${JSON.stringify(replica.index)}`);
}
