// SpendLedger on Redis: per-deployment spend and open reservations shared by every node, so a
// budget holds across the cluster (docs/cluster.md). Each window is a key
// `${prefix}spend:${deployment}:hour|day:${start}` that expires after the following window; open
// reservations are a hash per deployment. Every write is one Lua script (budget admission checks and
// reserves in one, so it is exact across nodes); same contract as the memory twin.

import type { Redis } from "ioredis";
import {
  checkSpendLimits,
  DAY_MS,
  HOUR_MS,
  type SpendLedger,
  type SpendLimits,
  type SpendReservation,
  type SpendTotals,
  type SpendWindow,
  untilWindowEnds,
  utcDayStart,
  utcHourStart,
} from "../core/stores/index.js";
import {
  compareStrings,
  DEFAULT_KEY_PREFIX,
  LUA_NUMBER_HELPERS,
  parseLuaNumber,
  registerScript,
  type ScriptCall,
} from "./redis-scripts.js";

export interface RedisSpendLedgerOptions {
  /** From createRedisConnection; shared with the node's other stores and owned by the caller. */
  client: Redis;
  /** Prepended to every key. Default "rakka:". */
  prefix?: string;
  /**
   * A reservation still open this long after it was made (by the callers' clock) is dropped as
   * abandoned: the node that held it died before settling. Its settle then resolves false.
   * Default two hours.
   */
  reservationTtlMs?: number;
}

/** Slack added to every expiry, for clocks of different nodes that disagree a little. */
const EXPIRY_SLACK_MS = 60_000;

// add: the memory twin's `(window ?? 0) + usd`, kept for ttl ms.
const ADD_LUA = `${LUA_NUMBER_HELPERS}
local function add(key, usd, ttl)
  local total = tonumber(redis.call('GET', key) or '0') + usd
  redis.call('SET', key, fmt(total), 'PX', ttl)
end
`;

const recordScript = {
  name: "rakkaSpendRecord",
  numberOfKeys: 3,
  // KEYS: hour window, day window, deployment index. ARGV: deployment, usd, hour ttl, day ttl, index ttl.
  lua: `${ADD_LUA}
local usd = tonumber(ARGV[2])
add(KEYS[1], usd, tonumber(ARGV[3]))
add(KEYS[2], usd, tonumber(ARGV[4]))
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1
`,
};

// reserve: a new reservation id `${sequence}:${deployment}`, held until settled, released or abandoned.
const RESERVE_LUA = `
local function reserve(sequenceKey, hashKey, expiryKey, indexKey, deployment, usd, expiresAt, keyTtl, indexTtl)
  local id = tostring(redis.call('INCR', sequenceKey)) .. ':' .. deployment
  redis.call('HSET', hashKey, id, usd)
  redis.call('ZADD', expiryKey, expiresAt, id)
  redis.call('PEXPIRE', hashKey, keyTtl)
  redis.call('PEXPIRE', expiryKey, keyTtl)
  redis.call('SADD', indexKey, deployment)
  redis.call('PEXPIRE', indexKey, indexTtl)
  return id
end
`;

// open_totals: drops reservations abandoned by `now`, then → hour usd, day usd, reserved usd.
const OPEN_TOTALS_LUA = `
local function open_totals(hourKey, dayKey, hashKey, expiryKey, now)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', expiryKey, '-inf', now)) do
    redis.call('HDEL', hashKey, id)
    redis.call('ZREM', expiryKey, id)
  end
  local reserved = 0
  for _, usd in ipairs(redis.call('HVALS', hashKey)) do reserved = reserved + tonumber(usd) end
  return tonumber(redis.call('GET', hourKey) or '0'), tonumber(redis.call('GET', dayKey) or '0'), reserved
end
`;

const reserveScript = {
  name: "rakkaSpendReserve",
  numberOfKeys: 4,
  // KEYS: id sequence, reservations hash, reservation expiry zset, deployment index.
  // ARGV: deployment, usd, expires at (callers' clock), key ttl, index ttl. → the reservation id.
  lua: `${RESERVE_LUA}
return reserve(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
`,
};

const reserveWithinScript = {
  name: "rakkaSpendReserveWithin",
  numberOfKeys: 6,
  // KEYS: hour window, day window, reservations hash, reservation expiry zset, id sequence,
  // deployment index. ARGV: deployment, usd, now, expires at, key ttl, index ttl, max hour usd,
  // max day usd ('' for no limit). The check is exceededWindow's, additions in the same order.
  // → {1, id, hour, day, reserved} when granted, {0, 'hour'|'day', hour, day, reserved} when refused.
  lua: `${LUA_NUMBER_HELPERS}${RESERVE_LUA}${OPEN_TOTALS_LUA}
local hour, day, reserved = open_totals(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[3])
local usd = tonumber(ARGV[2])
local window = nil
if ARGV[7] ~= '' and hour + reserved + usd > tonumber(ARGV[7]) then
  window = 'hour'
elseif ARGV[8] ~= '' and day + reserved + usd > tonumber(ARGV[8]) then
  window = 'day'
end
if window ~= nil then return {0, window, fmt(hour), fmt(day), fmt(reserved)} end
local id = reserve(KEYS[5], KEYS[3], KEYS[4], KEYS[6], ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6])
return {1, id, fmt(hour), fmt(day), fmt(reserved)}
`,
};

const settleScript = {
  name: "rakkaSpendSettle",
  numberOfKeys: 4,
  // KEYS: reservations hash, reservation expiry zset, hour window, day window.
  // ARGV: id, actual usd, hour ttl, day ttl. → 1 when the reservation was open, else 0.
  lua: `${ADD_LUA}
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
local usd = tonumber(ARGV[2])
add(KEYS[3], usd, tonumber(ARGV[3]))
add(KEYS[4], usd, tonumber(ARGV[4]))
return 1
`,
};

const releaseScript = {
  name: "rakkaSpendRelease",
  numberOfKeys: 2,
  // KEYS: reservations hash, reservation expiry zset. ARGV: id. → 1 when it was open, else 0.
  lua: `
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`,
};

const totalsScript = {
  name: "rakkaSpendTotals",
  numberOfKeys: 4,
  // KEYS: hour window, day window, reservations hash, reservation expiry zset. ARGV: now.
  // Drops reservations abandoned by `now`, then → {hour usd, day usd, reserved usd}.
  lua: `${LUA_NUMBER_HELPERS}${OPEN_TOTALS_LUA}
local hour, day, reserved = open_totals(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1])
return {fmt(hour), fmt(day), fmt(reserved)}
`,
};

/** Reservation ids are `${sequence}:${deployment}`, so settle and release find the deployment's keys. */
const RESERVATION_ID = /^\d+:/;

export class RedisSpendLedger implements SpendLedger {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #reservationTtlMs: number;
  readonly #record: ScriptCall;
  readonly #reserve: ScriptCall;
  readonly #reserveWithin: ScriptCall;
  readonly #settle: ScriptCall;
  readonly #release: ScriptCall;
  readonly #totals: ScriptCall;

  /** The cluster wiring builds one per node and hands it to the budget check in place of the memory ledger. */
  constructor(options: RedisSpendLedgerOptions) {
    this.#client = options.client;
    this.#prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.#reservationTtlMs = Math.ceil(options.reservationTtlMs ?? 2 * HOUR_MS);
    this.#record = registerScript(options.client, recordScript);
    this.#reserve = registerScript(options.client, reserveScript);
    this.#reserveWithin = registerScript(options.client, reserveWithinScript);
    this.#settle = registerScript(options.client, settleScript);
    this.#release = registerScript(options.client, releaseScript);
    this.#totals = registerScript(options.client, totalsScript);
  }

  async reserve(deployment: string, usd: number, now: number): Promise<string> {
    checkUsd("usd", usd);
    const id = await this.#reserve(
      [this.#sequenceKey(), ...this.#reservationKeys(deployment), this.#indexKey()],
      [deployment, usd, now + this.#reservationTtlMs, this.#reservationTtlMs + EXPIRY_SLACK_MS, indexTtl()],
    );
    return String(id);
  }

  async reserveWithin(
    deployment: string,
    usd: number,
    limits: SpendLimits,
    now: number,
  ): Promise<SpendReservation> {
    checkUsd("usd", usd);
    checkSpendLimits(limits);
    const reply = (await this.#reserveWithin(
      [
        ...this.#windowKeys(deployment, now),
        ...this.#reservationKeys(deployment),
        this.#sequenceKey(),
        this.#indexKey(),
      ],
      [
        deployment,
        usd,
        now,
        now + this.#reservationTtlMs,
        this.#reservationTtlMs + EXPIRY_SLACK_MS,
        indexTtl(),
        limits.maxHourUsd ?? "",
        limits.maxDayUsd ?? "",
      ],
    )) as [number, string, string, string, string];
    const totals = parseTotals(reply[2], reply[3], reply[4]);
    if (reply[0] === 1) return { granted: true, reservationId: String(reply[1]), totals };
    const window: SpendWindow = reply[1] === "day" ? "day" : "hour";
    return { granted: false, totals, window, retryAfterMs: untilWindowEnds(window, now) };
  }

  async settle(reservationId: string, actualUsd: number, now: number): Promise<boolean> {
    checkUsd("actualUsd", actualUsd);
    const deployment = deploymentOf(reservationId);
    if (deployment === undefined) return false;
    const reply = await this.#settle(
      [...this.#reservationKeys(deployment), ...this.#windowKeys(deployment, now)],
      [reservationId, actualUsd, ...windowTtls(now)],
    );
    return reply === 1;
  }

  async release(reservationId: string): Promise<boolean> {
    const deployment = deploymentOf(reservationId);
    if (deployment === undefined) return false;
    return (await this.#release(this.#reservationKeys(deployment), [reservationId])) === 1;
  }

  async record(deployment: string, usd: number, now: number): Promise<void> {
    checkUsd("usd", usd);
    await this.#record(
      [...this.#windowKeys(deployment, now), this.#indexKey()],
      [deployment, usd, ...windowTtls(now), indexTtl()],
    );
  }

  async totals(deployment: string, now: number): Promise<SpendTotals> {
    const reply = (await this.#totals(
      [...this.#windowKeys(deployment, now), ...this.#reservationKeys(deployment)],
      [now],
    )) as [string, string, string];
    return parseTotals(reply[0], reply[1], reply[2]);
  }

  async listDeployments(): Promise<string[]> {
    return (await this.#client.smembers(this.#indexKey())).sort(compareStrings);
  }

  #windowKeys(deployment: string, now: number): [string, string] {
    const base = `${this.#prefix}spend:${deployment}`;
    return [`${base}:hour:${utcHourStart(now)}`, `${base}:day:${utcDayStart(now)}`];
  }

  #reservationKeys(deployment: string): [string, string] {
    return [`${this.#prefix}reserved:${deployment}`, `${this.#prefix}reserved-expiry:${deployment}`];
  }

  #sequenceKey(): string {
    return `${this.#prefix}reservation-seq`;
  }

  #indexKey(): string {
    return `${this.#prefix}spend-deployments`;
  }
}

/**
 * A window must outlive the window after it (budgets may still ask about the previous hour and
 * day for a moment): the hour key lives until the end of the next hour, the day key likewise.
 */
function windowTtls(now: number): [number, number] {
  // Whole ms: PEXPIRE refuses a fraction, and `now` may have one.
  return [
    Math.ceil(utcHourStart(now) + 2 * HOUR_MS - now + EXPIRY_SLACK_MS),
    Math.ceil(utcDayStart(now) + 2 * DAY_MS - now + EXPIRY_SLACK_MS),
  ];
}

/** The deployment index outlives every window it names. */
function indexTtl(): number {
  return 2 * DAY_MS + EXPIRY_SLACK_MS;
}

function parseTotals(hour: unknown, day: unknown, reserved: unknown): SpendTotals {
  return {
    hourUsd: parseLuaNumber(hour),
    dayUsd: parseLuaNumber(day),
    reservedUsd: parseLuaNumber(reserved),
  };
}

function deploymentOf(reservationId: string): string | undefined {
  const match = RESERVATION_ID.exec(reservationId);
  return match === null ? undefined : reservationId.slice(match[0].length);
}

function checkUsd(field: string, usd: number): void {
  if (!Number.isFinite(usd) || usd < 0)
    throw new RangeError(`${field} must be a finite USD amount >= 0, got ${usd}`);
}
