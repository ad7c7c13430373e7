// RateLimitStore on Redis: the token buckets RateLimiterActor shares with every node of a cluster,
// so an RPM/TPM limit is exact across nodes (docs/cluster.md). Each call is one Lua script over the
// hash `${prefix}bucket:${key}` {tokens, updatedAt} and the 429 penalty `${prefix}penalty:${key}`
// (its end, ms) of every key it names, with the same arithmetic as the memory twin (both run
// rate-limit-store.contract.ts) and the caller's `now`, never the Redis clock.

import type { Redis } from "ioredis";
import type {
  AcquireAllResult,
  AcquireRequest,
  AcquireResult,
  BucketLimits,
  KeyedAcquireRequest,
  Penalty,
  RateLimitStore,
} from "../core/stores/index.js";
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

// The refill rule of MemoryRateLimitStore, op for op, so both give the same doubles. `refillAt`
// is the rate at `now` (halved while the penalty key holds a later end); `refilled` returns the
// bucket at `now` (capacity and `now` for an unknown key).
const BUCKET_LUA = `${LUA_NUMBER_HELPERS}
local EPSILON = 1e-9
local PENALTY_REFILL_FACTOR = 0.5
local function refillAt(penaltyKey, refill, now)
  local penaltyUntil = redis.call('GET', penaltyKey)
  if penaltyUntil and now < tonumber(penaltyUntil) then return refill * PENALTY_REFILL_FACTOR end
  return refill
end
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
local function retryAfter(shortfall, amount, capacity, refill)
  if amount > capacity or refill == 0 then return math.huge end
  return math.max(1, math.ceil((shortfall * 1000) / refill - EPSILON))
end
`;

const acquireScript = {
  name: "rakkaBucketAcquire",
  numberOfKeys: 2,
  // KEYS: bucket, penalty. ARGV: capacity, refillPerSecond, now, amount, idleTtlMs
  // → {granted, remaining, retryAfterMs}
  lua: `${BUCKET_LUA}
local capacity, now, amount, idleTtl = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local refill = refillAt(KEYS[2], tonumber(ARGV[2]), now)
local tokens, updatedAt = refilled(KEYS[1], capacity, refill, now)
local shortfall = amount - tokens
if shortfall <= EPSILON then
  tokens = math.max(0, tokens - amount)
  store(KEYS[1], tokens, updatedAt, capacity, refill, idleTtl)
  return {'1', fmt(tokens), '0'}
end
store(KEYS[1], tokens, updatedAt, capacity, refill, idleTtl)
return {'0', fmt(tokens), fmt(retryAfter(shortfall, amount, capacity, refill))}
`,
};

const acquireAllScript = {
  name: "rakkaBucketAcquireAll",
  // KEYS: bucket and penalty of each request, in pairs. ARGV: idleTtlMs, then capacity,
  // refillPerSecond, now, amount of each request → {granted, retryAfterMs, then remaining and
  // retryAfterMs of each request}. Takes from every bucket when all grant, from none otherwise;
  // each keeps its refill up to now either way, as in rakkaBucketAcquire.
  lua: `${BUCKET_LUA}
local idleTtl = tonumber(ARGV[1])
local count = #KEYS / 2
local buckets = {}
local refused = false
local worst = 0
for i = 1, count do
  local at = 2 + (i - 1) * 4
  local capacity, now, amount = tonumber(ARGV[at]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  local refill = refillAt(KEYS[2 * i], tonumber(ARGV[at + 1]), now)
  local tokens, updatedAt = refilled(KEYS[2 * i - 1], capacity, refill, now)
  local shortfall = amount - tokens
  local wait = 0
  if shortfall > EPSILON then
    wait = retryAfter(shortfall, amount, capacity, refill)
    refused = true
    worst = math.max(worst, wait)
  end
  buckets[i] = {tokens, updatedAt, capacity, refill, amount, wait}
end
local reply = {'1', '0'}
if refused then reply = {'0', fmt(worst)} end
for i = 1, count do
  local b = buckets[i]
  local tokens = b[1]
  if not refused then tokens = math.max(0, tokens - b[5]) end
  store(KEYS[2 * i - 1], tokens, b[2], b[3], b[4], idleTtl)
  reply[2 * i + 1], reply[2 * i + 2] = fmt(tokens), fmt(b[6])
end
return reply
`,
};

const adjustScript = {
  name: "rakkaBucketAdjust",
  numberOfKeys: 2,
  // KEYS: bucket, penalty. ARGV: capacity, refillPerSecond, now, delta, idleTtlMs → tokens afterwards
  lua: `${BUCKET_LUA}
local capacity, now, delta, idleTtl = tonumber(ARGV[1]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local refill = refillAt(KEYS[2], tonumber(ARGV[2]), now)
local tokens, updatedAt = refilled(KEYS[1], capacity, refill, now)
tokens = math.min(capacity, tokens + delta)
store(KEYS[1], tokens, updatedAt, capacity, refill, idleTtl)
return fmt(tokens)
`,
};

const penalizeScript = {
  name: "rakkaBucketPenalize",
  numberOfKeys: 2,
  // KEYS: bucket, penalty. ARGV: untilMs, now → the penalty's end afterwards. The penalty key lives
  // until its end (plus a second); a stored bucket lives at least as long, since at half refill it
  // may stay short of full past the expiry it was given.
  lua: `${LUA_NUMBER_HELPERS}
local untilMs, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local current = redis.call('GET', KEYS[2])
if current and tonumber(current) >= untilMs then return current end
local ttl = math.max(1000, math.ceil(untilMs - now) + 1000)
redis.call('SET', KEYS[2], fmt(untilMs), 'PX', ttl)
local bucketTtl = redis.call('PTTL', KEYS[1])
if bucketTtl >= 0 and bucketTtl < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return fmt(untilMs)
`,
};

const peekScript = {
  name: "rakkaBucketPeek",
  numberOfKeys: 2,
  // KEYS: bucket, penalty. ARGV: capacity, refillPerSecond, now → tokens at now
  lua: `${BUCKET_LUA}
local now = tonumber(ARGV[3])
local tokens = refilled(KEYS[1], tonumber(ARGV[1]), refillAt(KEYS[2], tonumber(ARGV[2]), now), now)
return fmt(tokens)
`,
};

export class RedisRateLimitStore implements RateLimitStore {
  readonly #prefix: string;
  readonly #idleTtlMs: number;
  readonly #acquire: ScriptCall;
  readonly #acquireAll: ScriptCall;
  readonly #adjust: ScriptCall;
  readonly #penalize: ScriptCall;
  readonly #peek: ScriptCall;

  /** The cluster wiring builds one per node and hands it to RateLimiterActor in place of the memory store. */
  constructor(options: RedisRateLimitStoreOptions) {
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#idleTtlMs = Math.ceil(options.idleTtlMs ?? 86_400_000);
    this.#acquire = registerScript(options.client, acquireScript);
    this.#acquireAll = registerScript(options.client, acquireAllScript);
    this.#adjust = registerScript(options.client, adjustScript);
    this.#penalize = registerScript(options.client, penalizeScript);
    this.#peek = registerScript(options.client, peekScript);
  }

  async tryAcquire(key: string, request: AcquireRequest): Promise<AcquireResult> {
    checkLimits(request);
    checkNonNegative("amount", request.amount);
    const reply = (await this.#acquire(this.#keys(key), [
      ...limitArgs(request),
      request.amount,
      this.#idleTtlMs,
    ])) as [string, string, string];
    return {
      granted: reply[0] === "1",
      remaining: parseLuaNumber(reply[1]),
      retryAfterMs: parseLuaNumber(reply[2]),
    };
  }

  async tryAcquireAll(requests: ReadonlyArray<KeyedAcquireRequest>): Promise<AcquireAllResult> {
    checkDistinctKeys(requests);
    for (const request of requests) {
      checkLimits(request);
      checkNonNegative("amount", request.amount);
    }
    if (requests.length === 0) return { granted: true, results: [], retryAfterMs: 0 };
    const reply = (await this.#acquireAll(
      requests.flatMap((request) => this.#keys(request.key)),
      [this.#idleTtlMs, ...requests.flatMap((request) => [...limitArgs(request), request.amount])],
    )) as string[];
    const granted = reply[0] === "1";
    return {
      granted,
      results: requests.map((_, i) => ({
        granted,
        remaining: parseLuaNumber(reply[2 * i + 2]),
        retryAfterMs: parseLuaNumber(reply[2 * i + 3]),
      })),
      retryAfterMs: parseLuaNumber(reply[1]),
    };
  }

  async adjust(key: string, delta: number, limits: BucketLimits): Promise<number> {
    checkLimits(limits);
    checkFinite("delta", delta);
    return parseLuaNumber(
      await this.#adjust(this.#keys(key), [...limitArgs(limits), delta, this.#idleTtlMs]),
    );
  }

  async penalize(key: string, penalty: Penalty): Promise<number> {
    checkFinite("untilMs", penalty.untilMs);
    checkFinite("now", penalty.now);
    return parseLuaNumber(await this.#penalize(this.#keys(key), [penalty.untilMs, penalty.now]));
  }

  async peek(key: string, limits: BucketLimits): Promise<number> {
    checkLimits(limits);
    return parseLuaNumber(await this.#peek(this.#keys(key), limitArgs(limits)));
  }

  /** The bucket's hash and its penalty's key, in the order every script takes them. */
  #keys(key: string): [string, string] {
    return [`${this.#prefix}bucket:${key}`, `${this.#prefix}penalty:${key}`];
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

function checkDistinctKeys(requests: ReadonlyArray<KeyedAcquireRequest>): void {
  const keys = new Set<string>();
  for (const { key } of requests) {
    if (keys.has(key)) throw new RangeError(`key ${key} is named twice`);
    keys.add(key);
  }
}

function checkFinite(field: string, value: number): void {
  if (!Number.isFinite(value)) throw new RangeError(`${field} must be a finite number, got ${value}`);
}
