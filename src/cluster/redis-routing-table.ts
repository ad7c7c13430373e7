// RoutingTable on Redis: every node's engine targets, shared so any node routes over all of them
// (docs/cluster.md). A target is a hash `${prefix}route:${bytes}:${deployment}:${targetId}`, its
// place in the registration order a score in `${prefix}route-order:${deployment}`; every write is
// one Lua script. Same contract as the memory twin (routing-table.contract.ts).

import type { Redis } from "ioredis";
import type { LoadReport, RoutingTable, RoutingTarget } from "../core/stores/index.js";
import { compareStrings, DEFAULT_KEY_PREFIX, registerScript, type ScriptCall } from "./redis-scripts.js";

export interface RedisRoutingTableOptions {
  /** From createRedisConnection; shared with the node's other stores and owned by the caller. */
  client: Redis;
  /** Prepended to every key. Default "rakka:". */
  prefix?: string;
  /**
   * A target neither registered nor reported for this long (Redis time) disappears on its own: a
   * safety net for a whole cluster gone quiet, well behind any removeStale sweep.
   * Default one hour.
   */
  targetTtlMs?: number;
}

// Helpers of the scripts that walk targets. The key of a target carries the deployment's length
// in bytes, so no (deployment, targetId) pair can spell another's key. `live` lists a deployment's
// target ids in registration order and forgets those whose hash expired.
const TARGETS_LUA = `
local prefix = ARGV[1]
local function order_key(d) return prefix .. 'route-order:' .. d end
local function target_key(d, t) return prefix .. 'route:' .. #d .. ':' .. d .. ':' .. t end
local function live(d)
  local ids = {}
  for _, t in ipairs(redis.call('ZRANGE', order_key(d), 0, -1)) do
    if redis.call('EXISTS', target_key(d, t)) == 1 then
      ids[#ids + 1] = t
    else
      redis.call('ZREM', order_key(d), t)
    end
  end
  if #ids == 0 then redis.call('SREM', prefix .. 'route-deployments', d) end
  return ids
end
`;

const registerScriptDefinition = {
  name: "rakkaRouteRegister",
  numberOfKeys: 4,
  // KEYS: target hash, order zset, deployment index, order sequence.
  // ARGV: ttl, deployment, targetId, nodeId, maxConcurrent, running, waiting, draining (1/0), reportedAt.
  lua: `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'deployment', ARGV[2], 'targetId', ARGV[3], 'nodeId', ARGV[4],
  'maxConcurrent', ARGV[5], 'running', ARGV[6], 'waiting', ARGV[7], 'draining', ARGV[8], 'reportedAt', ARGV[9])
if not redis.call('ZSCORE', KEYS[2], ARGV[3]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[3])
end
redis.call('SADD', KEYS[3], ARGV[2])
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return 1
`,
};

const deregisterScript = {
  name: "rakkaRouteDeregister",
  numberOfKeys: 3,
  // KEYS: target hash, order zset, deployment index. ARGV: deployment, targetId. → 1 when it was there.
  lua: `
local existed = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[1]) end
return existed
`,
};

const reportLoadScript = {
  name: "rakkaRouteReportLoad",
  numberOfKeys: 3,
  // KEYS: target hash, order zset, deployment index.
  // ARGV: ttl, running, waiting, draining (1/0, or '' to keep), reportedAt. → 0 for an unknown target.
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'running', ARGV[2], 'waiting', ARGV[3], 'reportedAt', ARGV[5])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'draining', ARGV[4]) end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
return 1
`,
};

const setDrainingScript = {
  name: "rakkaRouteSetDraining",
  numberOfKeys: 1,
  // KEYS: target hash. ARGV: draining (1/0). → 0 for an unknown target.
  lua: `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'draining', ARGV[1])
return 1
`,
};

const listScript = {
  name: "rakkaRouteList",
  numberOfKeys: 0,
  // ARGV: prefix, deployment. → each live target's HGETALL, in registration order.
  lua: `${TARGETS_LUA}
local out = {}
for _, t in ipairs(live(ARGV[2])) do out[#out + 1] = redis.call('HGETALL', target_key(ARGV[2], t)) end
return out
`,
};

const deploymentsScript = {
  name: "rakkaRouteDeployments",
  numberOfKeys: 0,
  // ARGV: prefix. → deployments with at least one live target (unsorted).
  lua: `${TARGETS_LUA}
local out = {}
for _, d in ipairs(redis.call('SMEMBERS', prefix .. 'route-deployments')) do
  if #live(d) > 0 then out[#out + 1] = d end
end
return out
`,
};

const removeWhereScript = {
  name: "rakkaRouteRemoveWhere",
  numberOfKeys: 0,
  // ARGV: prefix, 'stale' | 'node', cut-off time | node id.
  // → each removed target's HGETALL, grouped by deployment, registration order within each.
  lua: `${TARGETS_LUA}
local mode, value = ARGV[2], ARGV[3]
local cutoff = tonumber(value)
local out = {}
for _, d in ipairs(redis.call('SMEMBERS', prefix .. 'route-deployments')) do
  for _, t in ipairs(live(d)) do
    local key = target_key(d, t)
    local matches
    if mode == 'stale' then
      matches = tonumber(redis.call('HGET', key, 'reportedAt')) < cutoff
    else
      matches = redis.call('HGET', key, 'nodeId') == value
    end
    if matches then
      out[#out + 1] = redis.call('HGETALL', key)
      redis.call('DEL', key)
      redis.call('ZREM', order_key(d), t)
    end
  end
  if redis.call('EXISTS', order_key(d)) == 0 then redis.call('SREM', prefix .. 'route-deployments', d) end
end
return out
`,
};

export class RedisRoutingTable implements RoutingTable {
  readonly #prefix: string;
  readonly #targetTtlMs: number;
  readonly #register: ScriptCall;
  readonly #deregister: ScriptCall;
  readonly #reportLoad: ScriptCall;
  readonly #setDraining: ScriptCall;
  readonly #list: ScriptCall;
  readonly #deployments: ScriptCall;
  readonly #removeWhere: ScriptCall;

  /** One per node, once routing over other nodes' engines uses the table (see routing-table.ts). */
  constructor(options: RedisRoutingTableOptions) {
    const client = options.client;
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#targetTtlMs = Math.ceil(options.targetTtlMs ?? 3_600_000);
    this.#register = registerScript(client, registerScriptDefinition);
    this.#deregister = registerScript(client, deregisterScript);
    this.#reportLoad = registerScript(client, reportLoadScript);
    this.#setDraining = registerScript(client, setDrainingScript);
    this.#list = registerScript(client, listScript);
    this.#deployments = registerScript(client, deploymentsScript);
    this.#removeWhere = registerScript(client, removeWhereScript);
  }

  async register(target: RoutingTarget): Promise<void> {
    await this.#register(
      [...this.#targetKeys(target.deployment, target.targetId), `${this.#prefix}route-seq`],
      [
        this.#targetTtlMs,
        target.deployment,
        target.targetId,
        target.nodeId,
        target.maxConcurrent,
        target.running,
        target.waiting,
        target.draining ? 1 : 0,
        target.reportedAt,
      ],
    );
  }

  async deregister(deployment: string, targetId: string): Promise<boolean> {
    return (await this.#deregister(this.#targetKeys(deployment, targetId), [deployment, targetId])) === 1;
  }

  async reportLoad(deployment: string, targetId: string, report: LoadReport): Promise<boolean> {
    const draining = report.draining === undefined ? "" : report.draining ? 1 : 0;
    const reply = await this.#reportLoad(this.#targetKeys(deployment, targetId), [
      this.#targetTtlMs,
      report.running,
      report.waiting,
      draining,
      report.reportedAt,
    ]);
    return reply === 1;
  }

  async setDraining(deployment: string, targetId: string, draining: boolean): Promise<boolean> {
    const [targetKey] = this.#targetKeys(deployment, targetId);
    return (await this.#setDraining([targetKey], [draining ? 1 : 0])) === 1;
  }

  async list(deployment: string): Promise<RoutingTarget[]> {
    return ((await this.#list([], [this.#prefix, deployment])) as string[][]).map(parseTarget);
  }

  async deployments(): Promise<string[]> {
    return ((await this.#deployments([], [this.#prefix])) as string[]).sort(compareStrings);
  }

  async removeStale(olderThan: number): Promise<RoutingTarget[]> {
    return this.#removed(await this.#removeWhere([], [this.#prefix, "stale", olderThan]));
  }

  async removeNode(nodeId: string): Promise<RoutingTarget[]> {
    return this.#removed(await this.#removeWhere([], [this.#prefix, "node", nodeId]));
  }

  /** Deployments in name order; the sort is stable, so each keeps its registration order. */
  #removed(reply: unknown): RoutingTarget[] {
    return (reply as string[][]).map(parseTarget).sort((a, b) => compareStrings(a.deployment, b.deployment));
  }

  /** [target hash, order zset, deployment index]; the scripts' TARGETS_LUA builds the same names. */
  #targetKeys(deployment: string, targetId: string): [string, string, string] {
    const bytes = Buffer.byteLength(deployment, "utf8");
    return [
      `${this.#prefix}route:${bytes}:${deployment}:${targetId}`,
      `${this.#prefix}route-order:${deployment}`,
      `${this.#prefix}route-deployments`,
    ];
  }
}

/** A target from its hash's HGETALL reply (field, value, field, value, ...). */
function parseTarget(flat: string[]): RoutingTarget {
  const fields = new Map<string, string>();
  for (let i = 0; i < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!);
  const text = (name: string): string => {
    const value = fields.get(name);
    if (value === undefined) throw new TypeError(`routing target in Redis lacks ${name}`);
    return value;
  };
  return {
    deployment: text("deployment"),
    targetId: text("targetId"),
    nodeId: text("nodeId"),
    maxConcurrent: Number(text("maxConcurrent")),
    running: Number(text("running")),
    waiting: Number(text("waiting")),
    draining: text("draining") === "1",
    reportedAt: Number(text("reportedAt")),
  };
}
