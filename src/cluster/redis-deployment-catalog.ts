// DeploymentCatalog on Redis: the deployments every node of a cluster agrees on (docs/cluster.md).
// A record is a hash `${prefix}deployment:${name}` {record: JSON, version} plus a name index set;
// put, remove and compareAndPut are one Lua script each. Same contract as the memory twin. Records
// never expire: the catalog is the cluster's source of truth, and remove is the only way out.

import type { Redis } from "ioredis";
import type { DeploymentCatalog, DeploymentRecord } from "../core/stores/index.js";
import { compareStrings, DEFAULT_KEY_PREFIX, registerScript, type ScriptCall } from "./redis-scripts.js";

export interface RedisDeploymentCatalogOptions {
  /** From createRedisConnection; shared with the node's other stores and owned by the caller. */
  client: Redis;
  /** Prepended to every key. Default "rakka:". */
  prefix?: string;
}

const putScript = {
  name: "rakkaCatalogPut",
  numberOfKeys: 2,
  // KEYS: record hash, name index. ARGV: name, JSON, version.
  lua: `
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'version', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`,
};

const compareAndPutScript = {
  name: "rakkaCatalogCompareAndPut",
  numberOfKeys: 2,
  // KEYS: record hash, name index. ARGV: name, JSON, version, expected version (0: must not exist).
  // → 1 when written, else 0.
  lua: `
local stored = redis.call('HGET', KEYS[1], 'version')
local expected = tonumber(ARGV[4])
if expected == 0 then
  if stored then return 0 end
elseif not stored or tonumber(stored) ~= expected then
  return 0
end
redis.call('HSET', KEYS[1], 'record', ARGV[2], 'version', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`,
};

const removeScript = {
  name: "rakkaCatalogRemove",
  numberOfKeys: 2,
  // KEYS: record hash, name index. ARGV: name. → 1 when the record was there.
  lua: `
redis.call('SREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
`,
};

const listScript = {
  name: "rakkaCatalogList",
  numberOfKeys: 1,
  // KEYS: name index. ARGV: key prefix of records. → every record's JSON (one snapshot).
  lua: `
local out = {}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local json = redis.call('HGET', ARGV[1] .. name, 'record')
  if json then out[#out + 1] = json end
end
return out
`,
};

export class RedisDeploymentCatalog implements DeploymentCatalog {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #put: ScriptCall;
  readonly #compareAndPut: ScriptCall;
  readonly #remove: ScriptCall;
  readonly #list: ScriptCall;

  /**
   * The cluster node builds one for its CatalogSync (the shared catalog, "One catalog" in
   * docs/cluster.md); no deployment manager writes it.
   */
  constructor(options: RedisDeploymentCatalogOptions) {
    this.#client = options.client;
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#put = registerScript(options.client, putScript);
    this.#compareAndPut = registerScript(options.client, compareAndPutScript);
    this.#remove = registerScript(options.client, removeScript);
    this.#list = registerScript(options.client, listScript);
  }

  async put(record: DeploymentRecord): Promise<void> {
    // Serialise first: a record that cannot be stored rejects before Redis is asked.
    const json = JSON.stringify(record);
    await this.#put(this.#keys(record.name), [record.name, json, record.version]);
  }

  async get(name: string): Promise<DeploymentRecord | undefined> {
    const json = await this.#client.hget(this.#recordKey(name), "record");
    return json === null ? undefined : parseRecord(json);
  }

  async remove(name: string): Promise<boolean> {
    return (await this.#remove(this.#keys(name), [name])) === 1;
  }

  async list(): Promise<DeploymentRecord[]> {
    const jsons = (await this.#list([this.#indexKey()], [`${this.#prefix}deployment:`])) as string[];
    return jsons.map(parseRecord).sort((a, b) => compareStrings(a.name, b.name));
  }

  async mark(): Promise<void> {
    await this.#client.set(this.#markKey(), "1");
  }

  async marked(): Promise<boolean> {
    return (await this.#client.exists(this.#markKey())) === 1;
  }

  async compareAndPut(record: DeploymentRecord, expectedVersion: number): Promise<boolean> {
    const json = JSON.stringify(record);
    const reply = await this.#compareAndPut(this.#keys(record.name), [
      record.name,
      json,
      record.version,
      expectedVersion,
    ]);
    return reply === 1;
  }

  #markKey(): string {
    return `${this.#prefix}catalog-mark`;
  }

  #keys(name: string): [string, string] {
    return [this.#recordKey(name), this.#indexKey()];
  }

  #recordKey(name: string): string {
    return `${this.#prefix}deployment:${name}`;
  }

  #indexKey(): string {
    return `${this.#prefix}deployments`;
  }
}

function parseRecord(json: string): DeploymentRecord {
  return JSON.parse(json) as DeploymentRecord;
}
