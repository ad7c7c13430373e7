// Lua plumbing shared by the Redis stores (docs/cluster.md): every read-modify-write of a store is
// one script, registered once per connection; the connection's ScriptBatcher sends the calls of one
// event-loop turn (or those made while a batch is in flight) as one EVALSHA of a script that holds
// them all, falling back to EVAL when the server has forgotten it. Numbers cross the Lua boundary
// as exact decimal strings.

import type { Redis } from "ioredis";
import { scriptBatcherFor } from "./redis-script-batch.js";

/** One store operation as a Lua script; `name` must be unique per connection across all stores. */
export interface LuaScript {
  readonly name: string;
  readonly lua: string;
  /** Checked on every call; absent for a script whose key count varies (one pair per bucket). */
  readonly numberOfKeys?: number;
}

/** A registered script: call with its keys and arguments, resolves with the script's raw reply. */
export type ScriptCall = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/**
 * Each Redis store calls this in its constructor for each of its scripts. Registering the same
 * script twice on one connection (two stores of one kind) is harmless.
 */
export function registerScript(client: Redis, script: LuaScript): ScriptCall {
  const call = scriptBatcherFor(client).register(script);
  const expected = script.numberOfKeys;
  return (keys, args) => {
    if (expected !== undefined && keys.length !== expected)
      return Promise.reject(new RangeError(`${script.name} takes ${expected} keys, got ${keys.length}`));
    return call(keys, args.map(String));
  };
}

/**
 * Lua helpers prepended to scripts that do arithmetic: `fmt` writes a double as the shortest
 * exact decimal form ("%.17g", "inf"/"-inf" for infinities), the form `parseLuaNumber` reads.
 * Redis would truncate a Lua number in a reply to an integer, so fractional results go out as text.
 */
export const LUA_NUMBER_HELPERS = `
local function fmt(x)
  if x == math.huge then return 'inf' end
  if x == -math.huge then return '-inf' end
  return string.format('%.17g', x)
end
`;

/**
 * The stores call this on every number a script returns as text (see LUA_NUMBER_HELPERS).
 * Throws on anything that is not a number, so a corrupted key fails loudly.
 */
export function parseLuaNumber(text: unknown): number {
  if (text === "inf") return Number.POSITIVE_INFINITY;
  if (text === "-inf") return Number.NEGATIVE_INFINITY;
  const value = typeof text === "number" ? text : Number(text);
  if (typeof text !== "number" && (typeof text !== "string" || text === "" || Number.isNaN(value)))
    throw new TypeError(`expected a number from Redis, got ${String(text)}`);
  // %.17g keeps the sign of zero; the stores hand out 0, never -0.
  return value === 0 ? 0 : value;
}

/**
 * The JavaScript string order (UTF-16 code units) that the memory stores sort by. Redis orders
 * bytes, which differs for some non-ASCII names, so the Redis stores sort in TypeScript.
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The default key prefix of every Redis store; a deployment of several clusters on one Redis sets its own. */
export const DEFAULT_KEY_PREFIX = "rakka:";
