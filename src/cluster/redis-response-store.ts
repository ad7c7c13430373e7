// ResponseStore on Redis: the Responses API's stored responses shared by every node of a cluster
// (docs/cluster.md; docs/api.md, "Responses API"). One hash per response, `${prefix}response:${id}`
// {owner, expires, record: JSON}, with a PEXPIRE of the record's TTL, so Redis drops it by itself,
// and a sorted set of them by expiry bounds their count (the first to expire go first);
// `expires` (the callers' clock) decides reads, as in the memory twin. Reads and deletes are Lua
// scripts that compare the owner first, so another client's record never leaves Redis.

import type { Redis } from "ioredis";
import { checkResponseTtl, type ResponseStore, type StoredResponse } from "../core/stores/response-store.js";
import { DEFAULT_KEY_PREFIX, registerScript, type ScriptCall } from "./redis-scripts.js";

export interface RedisResponseStoreOptions {
  /** From createRedisConnection; shared with the node's other stores and owned by the caller. */
  readonly client: Redis;
  /** Prepended to every key. Default "rakka:". */
  readonly prefix?: string;
  /**
   * The most responses the cluster keeps (`[server] responses_max_stored`): past it the ones that
   * expire first are dropped. Default 10000.
   */
  readonly maxStored?: number;
}

const putScript = {
  name: "rakkaResponsePut",
  numberOfKeys: 2,
  // KEYS: record hash, the index (a sorted set of record keys by expiry). ARGV: owner, expires
  // (ms), record JSON, ttl (ms), now (ms), the most records kept. A replaced record goes whole;
  // another owner's live record is never replaced (→ 0). The index forgets what has expired and,
  // past the bound, drops the records that expire first (their hashes too).
  lua: `
local fields = redis.call('HMGET', KEYS[1], 'owner', 'expires')
if fields[1] and fields[1] ~= ARGV[1] and fields[2] and tonumber(fields[2]) > tonumber(ARGV[5]) then
  return 0
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'expires', ARGV[2], 'record', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[6])
if over > 0 then
  local dropped = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, over - 1)
  for _, key in ipairs(dropped) do redis.call('DEL', key) end
end
return 1
`,
};

// Shared head of get and delete: the owner must match and the record must not have expired by
// the caller's clock. ARGV[1] owner, ARGV[2] now (ms). A missing hash reads as false fields.
const LIVE_LUA = `
local fields = redis.call('HMGET', KEYS[1], 'owner', 'expires', 'record')
local live = fields[1] == ARGV[1] and fields[2] and tonumber(fields[2]) > tonumber(ARGV[2])
`;

const getScript = {
  name: "rakkaResponseGet",
  numberOfKeys: 1,
  // → the record JSON, or nil.
  lua: `${LIVE_LUA}
if not live then return false end
return fields[3]
`,
};

const deleteScript = {
  name: "rakkaResponseDelete",
  numberOfKeys: 2,
  // KEYS: record hash, the index. → 1 when deleted, else 0.
  lua: `${LIVE_LUA}
if not live then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], KEYS[1])
return 1
`,
};

export class RedisResponseStore implements ResponseStore {
  readonly #prefix: string;
  readonly #maxStored: number;
  readonly #put: ScriptCall;
  readonly #get: ScriptCall;
  readonly #delete: ScriptCall;

  /** The cluster node builds one and hands it to the Responses API in place of the memory store. */
  constructor(options: RedisResponseStoreOptions) {
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#maxStored = options.maxStored ?? 10_000;
    this.#put = registerScript(options.client, putScript);
    this.#get = registerScript(options.client, getScript);
    this.#delete = registerScript(options.client, deleteScript);
  }

  async put(record: StoredResponse, ttlMs: number, nowMs: number): Promise<void> {
    checkResponseTtl(ttlMs);
    const ttl = Math.ceil(ttlMs);
    const stored = await this.#put(
      [this.#key(record.id), this.#index()],
      [record.clientId, nowMs + ttlMs, JSON.stringify(record), ttl, nowMs, this.#maxStored],
    );
    if (stored !== 1) throw new Error(`response ${record.id} is another client's: not replaced`);
  }

  async get(id: string, clientId: string, nowMs: number): Promise<StoredResponse | undefined> {
    const json = await this.#get([this.#key(id)], [clientId, nowMs]);
    if (typeof json !== "string") return undefined;
    return parseRecord(json, id);
  }

  async delete(id: string, clientId: string, nowMs: number): Promise<boolean> {
    return (await this.#delete([this.#key(id), this.#index()], [clientId, nowMs])) === 1;
  }

  /** The sorted set of the record keys by expiry, which bounds their count. */
  #index(): string {
    return `${this.#prefix}response-index`;
  }

  #key(id: string): string {
    return `${this.#prefix}response:${id}`;
  }
}

/** A stored record back from JSON; one of another shape (a corrupted key) fails loudly. */
function parseRecord(json: string, id: string): StoredResponse {
  const value: unknown = JSON.parse(json);
  if (
    typeof value !== "object" ||
    value === null ||
    (value as { id?: unknown }).id !== id ||
    typeof (value as { clientId?: unknown }).clientId !== "string" ||
    typeof (value as { response?: unknown }).response !== "object" ||
    !Array.isArray((value as { history?: unknown }).history)
  )
    throw new TypeError(`stored response ${id} is not a stored response record`);
  return value as StoredResponse;
}
