// RateLimitStore on Redis: the token buckets RateLimiterActor shares with every node of a cluster,
// so an RPM/TPM limit is exact across nodes (docs/cluster.md). Each call is one Lua script over one
// hash `${prefix}bucket:${key}` {tokens, updatedAt}, with the same arithmetic as the memory twin
// (both run rate-limit-store.contract.ts) and the caller's `now`, never the Redis clock.

import type { Redis } from "ioredis";
import type { AcquireRequest, AcquireResult, BucketLimits, RateLimitStore } from "../core/stores/index.js";
import {
  DEFAULT_KEY_PREFIX,
  LUA_NUMBER_HELPERS,
  parseLuaNumber,
  registerScript,
  type ScriptCall,
} from "./redis-scripts.js";

export interface RedisRateLimitStoreOptions {
  /** From createRedisConnection; shared with the node's other stores and owned by the caller. */
  client: Redis;
  /** Prepended to every key. Default "rakka:". */
  prefix?: string;
  /**
   * How long a bucket that never refills (refillPerSecond 0) lives after its last write. A bucket
   * that refills expires once it would be full again (plus a second of slack), when dropping it
   * changes nothing. Default one day.
   */
  idleTtlMs?: number;
}

// The refill rule of MemoryRateLimitStore, op for op, so both give the same doubles. `refilled`
// returns the bucket at `now` (capacity and `now` for an unknown key).
const BUCKET_LUA = `${LUA_NUMBER_HELPERS}
local EPSILON = 1e-9
local function refilled(key, capacity, refill, now)
  local stored = redis.call('HMGET', key, 'tokens', 'updatedAt')
  if not stored[1] then return capacity, now end
  local tokens = tonumber(stored[1])
  local updatedAt = tonumber(stored[2])
  local elapsed = math.max(0, now - updatedAt)
  return math.min(capacity, tokens + (elapsed * refill) / 1000), math.max(updatedAt, now)
end
local function store(key, tokens, updatedAt, capacity, refill, idleTtl)
  redis.call('HSET', key, 'tokens', fmt(tokens), 'updatedAt', fmt(updatedAt))
  local ttl = idleTtl
  if refill > 0 then ttl = math.ceil(((capacity - tokens) * 1000) / refill) + 1000 end
  redis.call('PEXPIRE', key, math.max(1000, math.min(ttl, idleTtl)))
end
`;

const acquireScript = {
  name: "rakkaBucketAcquire",
  numberOfKeys: 1,
  // ARGV: capacity, refillPerSecond, now, amount, idleTtlMs → {granted, remaining, retryAfterMs}
  lua: `${BUCKET_LUA}
local capacity, refill, now, amount, idleTtl =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local tokens, updatedAt = refilled(KEYS[1], capacity, refill, now)
local shortfall = amount - tokens
if shortfall <= EPSILON then
  tokens = math.max(0, tokens - amount)
  store(KEYS[1], tokens, updatedAt, capacity, refill, idleTtl)
  return {'1', fmt(tokens), '0'}
end
store(KEYS[1], tokens, updatedAt, capacity, refill, idleTtl)
local retry = math.huge
if amount <= capacity and refill ~= 0 then
  retry = math.max(1, math.ceil((shortfall * 1000) / refill - EPSILON))
end
return {'0', fmt(tokens), fmt(retry)}
`,
};

const adjustScript = {
  name: "rakkaBucketAdjust",
  numberOfKeys: 1,
  // ARGV: capacity, refillPerSecond, now, delta, idleTtlMs → tokens afterwards
  lua: `${BUCKET_LUA}
local capacity, refill, now, delta, idleTtl =
  tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local tokens, updatedAt = refilled(KEYS[1], capacity, refill, now)
tokens = math.min(capacity, tokens + delta)
store(KEYS[1], tokens, updatedAt, capacity, refill, idleTtl)
return fmt(tokens)
`,
};

const peekScript = {
  name: "rakkaBucketPeek",
  numberOfKeys: 1,
  readOnly: true,
  // ARGV: capacity, refillPerSecond, now → tokens at now
  lua: `${BUCKET_LUA}
local tokens = refilled(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
return fmt(tokens)
`,
};

export class RedisRateLimitStore implements RateLimitStore {
  readonly #prefix: string;
  readonly #idleTtlMs: number;
  readonly #acquire: ScriptCall;
  readonly #adjust: ScriptCall;
  readonly #peek: ScriptCall;

  /** The cluster wiring builds one per node and hands it to RateLimiterActor in place of the memory store. */
  constructor(options: RedisRateLimitStoreOptions) {
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#idleTtlMs = Math.ceil(options.idleTtlMs ?? 86_400_000);
    this.#acquire = registerScript(options.client, acquireScript);
    this.#adjust = registerScript(options.client, adjustScript);
    this.#peek = registerScript(options.client, peekScript);
  }

  async tryAcquire(key: string, request: AcquireRequest): Promise<AcquireResult> {
    checkLimits(request);
    checkNonNegative("amount", request.amount);
    const reply = (await this.#acquire(
      [this.#key(key)],
      [...limitArgs(request), request.amount, this.#idleTtlMs],
    )) as [string, string, string];
    return {
      granted: reply[0] === "1",
      remaining: parseLuaNumber(reply[1]),
      retryAfterMs: parseLuaNumber(reply[2]),
    };
  }

  async adjust(key: string, delta: number, limits: BucketLimits): Promise<number> {
    checkLimits(limits);
    checkFinite("delta", delta);
    return parseLuaNumber(
      await this.#adjust([this.#key(key)], [...limitArgs(limits), delta, this.#idleTtlMs]),
    );
  }

  async peek(key: string, limits: BucketLimits): Promise<number> {
    checkLimits(limits);
    return parseLuaNumber(await this.#peek([this.#key(key)], limitArgs(limits)));
  }

  #key(key: string): string {
    return `${this.#prefix}bucket:${key}`;
  }
}

function limitArgs(limits: BucketLimits): number[] {
  return [limits.capacity, limits.refillPerSecond, limits.now];
}

// Arguments are checked here, before Redis is asked, with the memory twin's messages.
function checkLimits(limits: BucketLimits): void {
  checkNonNegative("capacity", limits.capacity);
  checkNonNegative("refillPerSecond", limits.refillPerSecond);
  checkFinite("now", limits.now);
}

function checkNonNegative(field: string, value: number): void {
  checkFinite(field, value);
  if (value < 0) throw new RangeError(`${field} must be at least 0, got ${value}`);
}

function checkFinite(field: string, value: number): void {
  if (!Number.isFinite(value)) throw new RangeError(`${field} must be a finite number, got ${value}`);
}
