// CircuitStateStore on Redis: one circuit per upstream endpoint for every node of a cluster
// (docs/cluster.md). A record is a hash `${prefix}circuit:${endpoint}` {record: JSON, version};
// `update` runs the caller's decision in TypeScript and writes it with a compare-and-set script on
// the version, retrying on conflict (the interface allows `fn` to run again). Same contract as the memory twin.

import type { Redis } from "ioredis";
import {
  type CircuitRecord,
  type CircuitStateStore,
  closedCircuit,
  copyCircuitRecord,
  sameCircuitRecord,
} from "../core/stores/index.js";
import { StoreConflictError } from "./errors.js";
import { compareStrings, DEFAULT_KEY_PREFIX, registerScript, type ScriptCall } from "./redis-scripts.js";

export interface RedisCircuitStateStoreOptions {
  /** From createRedisConnection; shared with the node's other stores and owned by the caller. */
  client: Redis;
  /** Prepended to every key. Default "rakka:". */
  prefix?: string;
  /**
   * A circuit nobody wrote for this long is forgotten (it reads as closed again). A forced circuit
   * never expires: it holds until an operator sets it back to auto. Default one day.
   */
  idleTtlMs?: number;
  /** How often one update may lose its compare-and-set to another node before it rejects. Default 100. */
  maxAttempts?: number;
}

// Shared tail of set and compare-and-set: write the record, bump the version, index, expire.
// ARGV[1] JSON, ARGV[2] ttl ms (0: never expires).
const WRITE_LUA = `
local function write(key, index, endpoint, json, ttl)
  redis.call('HSET', key, 'record', json)
  local version = redis.call('HINCRBY', key, 'version', 1)
  redis.call('SADD', index, endpoint)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
  return version
end
`;

const setScript = {
  name: "rakkaCircuitSet",
  numberOfKeys: 2,
  // KEYS: record hash, index set. ARGV: endpoint, JSON, ttl.
  lua: `${WRITE_LUA}
write(KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]))
return 1
`,
};

const compareAndSetScript = {
  name: "rakkaCircuitCompareAndSet",
  numberOfKeys: 2,
  // KEYS: record hash, index set. ARGV: endpoint, JSON, ttl, expected version (0: absent).
  // → {1} when written, else {0, current JSON or false, current version}.
  lua: `${WRITE_LUA}
local current = redis.call('HMGET', KEYS[1], 'record', 'version')
local version = tonumber(current[2] or '0')
if version ~= tonumber(ARGV[4]) then return {0, current[1], version} end
write(KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]))
return {1}
`,
};

const readScript = {
  name: "rakkaCircuitRead",
  numberOfKeys: 1,
  // KEYS: record hash → {JSON or false, version or false}. A script, not a bare HMGET, so a
  // breaker's check shares its batch with the rate-limit permit (docs/cluster.md, "Round trips").
  lua: "return redis.call('HMGET', KEYS[1], 'record', 'version')",
};

const listScript = {
  name: "rakkaCircuitList",
  numberOfKeys: 1,
  // KEYS: index set. ARGV: key prefix of records. → flat {endpoint, JSON, ...}; drops expired members.
  lua: `
local out = {}
for _, endpoint in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local json = redis.call('HGET', ARGV[1] .. endpoint, 'record')
  if json then
    out[#out + 1] = endpoint
    out[#out + 1] = json
  else
    redis.call('SREM', KEYS[1], endpoint)
  end
end
return out
`,
};

interface Versioned {
  record: CircuitRecord;
  version: number;
}

export class RedisCircuitStateStore implements CircuitStateStore {
  readonly #prefix: string;
  readonly #idleTtlMs: number;
  readonly #maxAttempts: number;
  readonly #set: ScriptCall;
  readonly #compareAndSet: ScriptCall;
  readonly #read: ScriptCall;
  readonly #list: ScriptCall;
  /** endpoint → the tail of this node's writing updates to it: one node never races itself. */
  readonly #queues = new Map<string, Promise<void>>();

  /** The cluster wiring builds one per node and hands it to CircuitBreakerActor in place of the memory store. */
  constructor(options: RedisCircuitStateStoreOptions) {
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#idleTtlMs = Math.ceil(options.idleTtlMs ?? 86_400_000);
    this.#maxAttempts = options.maxAttempts ?? 100;
    this.#set = registerScript(options.client, setScript);
    this.#compareAndSet = registerScript(options.client, compareAndSetScript);
    this.#read = registerScript(options.client, readScript);
    this.#list = registerScript(options.client, listScript);
  }

  async get(endpoint: string): Promise<CircuitRecord> {
    return (await this.#readVersioned(this.#key(endpoint))).record;
  }

  async set(endpoint: string, record: CircuitRecord): Promise<void> {
    const stored = copyCircuitRecord(record);
    await this.#set(
      [this.#key(endpoint), this.#indexKey()],
      [endpoint, JSON.stringify(stored), this.#ttl(stored)],
    );
  }

  /**
   * A call whose decision changes nothing (the check of a closed circuit, a success on one) costs
   * one read and runs alongside any other, so the checks of concurrent requests share a Redis
   * batch. One that writes joins the endpoint's queue and decides again from a fresh read there.
   */
  async update(endpoint: string, fn: (current: CircuitRecord) => CircuitRecord): Promise<CircuitRecord> {
    if (this.#queues.has(endpoint)) return this.#queued(endpoint, fn);
    const current = await this.#readVersioned(this.#key(endpoint));
    const next = copyCircuitRecord(fn(copyCircuitRecord(current.record)));
    if (sameCircuitRecord(next, current.record)) return next;
    // the first compare-and-set writes this decision; a lost one decides again (fn runs again)
    return this.#queued(endpoint, fn, { current, next });
  }

  #queued(
    endpoint: string,
    fn: (current: CircuitRecord) => CircuitRecord,
    decided?: { readonly current: Versioned; readonly next: CircuitRecord },
  ): Promise<CircuitRecord> {
    const previous = this.#queues.get(endpoint) ?? Promise.resolve();
    const run = previous.then(() => this.#updateNow(endpoint, fn, decided));
    const tail = run.then(
      () => {},
      () => {},
    );
    this.#queues.set(endpoint, tail);
    void tail.then(() => {
      if (this.#queues.get(endpoint) === tail) this.#queues.delete(endpoint);
    });
    return run;
  }

  async list(): Promise<Array<[string, CircuitRecord]>> {
    const flat = (await this.#list([this.#indexKey()], [`${this.#prefix}circuit:`])) as string[];
    const entries: Array<[string, CircuitRecord]> = [];
    for (let i = 0; i < flat.length; i += 2) entries.push([flat[i]!, parseRecord(flat[i + 1]!)]);
    return entries.sort(([a], [b]) => compareStrings(a, b));
  }

  async #updateNow(
    endpoint: string,
    fn: (current: CircuitRecord) => CircuitRecord,
    decided?: { readonly current: Versioned; readonly next: CircuitRecord },
  ): Promise<CircuitRecord> {
    const key = this.#key(endpoint);
    let current = decided?.current ?? (await this.#readVersioned(key));
    let next = decided?.next;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      next ??= copyCircuitRecord(fn(copyCircuitRecord(current.record)));
      // a check of a closed circuit, a success that changes nothing: no write, one round trip
      if (sameCircuitRecord(next, current.record)) return next;
      const reply = (await this.#compareAndSet(
        [key, this.#indexKey()],
        [endpoint, JSON.stringify(next), this.#ttl(next), current.version],
      )) as [number, string | null, number] | [number];
      if (reply[0] === 1) return next;
      // Another node wrote first: decide again from what it wrote.
      const [, json, version] = reply as [number, string | null, number];
      current = { record: json === null ? closedCircuit() : parseRecord(json), version };
      next = undefined;
    }
    throw new StoreConflictError(
      `circuit ${endpoint}: update lost its compare-and-set ${this.#maxAttempts} times to other writers`,
    );
  }

  async #readVersioned(key: string): Promise<Versioned> {
    const [json, version] = (await this.#read([key], [])) as [string | null, string | null];
    if (json === null || json === undefined)
      return { record: closedCircuit(), version: Number(version ?? 0) };
    return { record: parseRecord(json), version: Number(version) };
  }

  #ttl(record: CircuitRecord): number {
    return record.forced === undefined ? this.#idleTtlMs : 0;
  }

  #key(endpoint: string): string {
    return `${this.#prefix}circuit:${endpoint}`;
  }

  #indexKey(): string {
    return `${this.#prefix}circuits`;
  }
}

function parseRecord(json: string): CircuitRecord {
  return copyCircuitRecord(JSON.parse(json) as CircuitRecord);
}
