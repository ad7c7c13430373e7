// One Redis command for many store operations (docs/cluster.md, "Round trips"). Every Lua script
// a store registers on a connection becomes one function of a single batch script; calls made in
// the same event-loop turn, or while the previous batch is in flight, leave together as one
// EVALSHA of that script, which runs them in order and answers each. A lone call leaves at the end
// of its turn (no waiting for company), so an unloaded request pays one round trip. While the
// node is busy (its `busy` signal, e.g. several requests in flight) a batch waits HOLD_MS for
// company first, so concurrent requests share one command instead of paying one each.

import { createHash } from "node:crypto";
import { type Redis, ReplyError } from "ioredis";

/** A store operation as a Lua chunk reading `KEYS` and `ARGV` and ending in `return`. */
export interface BatchedScript {
  /** Unique per connection across all stores; the same name twice must carry the same Lua. */
  readonly name: string;
  readonly lua: string;
}

interface PendingCall {
  readonly op: number;
  readonly keys: readonly string[];
  readonly args: readonly string[];
  readonly resolve: (reply: unknown) => void;
  readonly reject: (error: Error) => void;
}

interface Compiled {
  readonly lua: string;
  readonly sha: string;
  readonly ops: number;
}

/** A batch runs at most this many calls; the rest wait for the next one. */
const MAX_CALLS_PER_BATCH = 256;
/** How long a busy node's batch waits for company before it leaves. */
export const HOLD_MS = 1;

// ARGV[1] the number of calls; then per call: op index, key count, argument count, arguments.
// KEYS: every call's keys, in call order. Each call's reply is {1, reply} or {0, error message}:
// one call's error never fails the others.
const DISPATCH_LUA = `
local calls = tonumber(ARGV[1])
local nextKey, nextArg = 1, 2
local out = {}
for c = 1, calls do
  local op, keyCount, argCount = tonumber(ARGV[nextArg]), tonumber(ARGV[nextArg + 1]), tonumber(ARGV[nextArg + 2])
  nextArg = nextArg + 3
  local keys, args = {}, {}
  for i = 1, keyCount do keys[i] = KEYS[nextKey]; nextKey = nextKey + 1 end
  for i = 1, argCount do args[i] = ARGV[nextArg]; nextArg = nextArg + 1 end
  local ok, reply = pcall(ops[op], keys, args)
  if ok then
    out[c] = {1, reply}
  elseif type(reply) == 'table' and reply.err then
    out[c] = {0, reply.err}
  else
    out[c] = {0, tostring(reply)}
  end
end
return out
`;

export class ScriptBatcher {
  readonly #client: Redis;
  readonly #scripts: BatchedScript[] = [];
  readonly #byName = new Map<string, number>();
  #compiled: Compiled | undefined;
  #queue: PendingCall[] = [];
  #inFlight = false;
  #scheduled = false;
  #busy: () => boolean = () => false;
  #holdMs = HOLD_MS;

  constructor(client: Redis) {
    this.#client = client;
  }

  /** The node's load signal: while it answers true, each batch waits `holdMs` for company. */
  holdWhen(busy: () => boolean, holdMs = HOLD_MS): void {
    this.#busy = busy;
    this.#holdMs = holdMs;
  }

  /** Each Redis store calls this (through registerScript) for each of its scripts. */
  register(script: BatchedScript): (keys: readonly string[], args: readonly string[]) => Promise<unknown> {
    let op = this.#byName.get(script.name);
    if (op === undefined) {
      op = this.#scripts.push(script);
      this.#byName.set(script.name, op);
    } else if (this.#scripts[op - 1]!.lua !== script.lua) {
      throw new Error(`Redis script ${script.name} is registered twice with different Lua`);
    }
    const index = op;
    return (keys, args) =>
      new Promise((resolve, reject) => {
        this.#queue.push({ op: index, keys, args, resolve, reject });
        this.#schedule();
      });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight) return;
    this.#scheduled = true;
    const flush = () => {
      this.#scheduled = false;
      void this.#flush();
    };
    if (this.#busy()) setTimeout(flush, this.#holdMs);
    else setImmediate(flush);
  }

  async #flush(): Promise<void> {
    if (this.#inFlight || this.#queue.length === 0) return;
    const batch = this.#queue.splice(0, MAX_CALLS_PER_BATCH);
    this.#inFlight = true;
    try {
      const replies = (await this.#send(batch)) as Array<[number, unknown]>;
      for (let i = 0; i < batch.length; i++) {
        const [ok, reply] = replies[i] ?? [0, "no reply from the batch script"];
        if (ok === 1) batch[i]!.resolve(reply ?? null);
        else batch[i]!.reject(new ReplyError(String(reply)) as Error);
      }
    } catch (error) {
      for (const call of batch) call.reject(error as Error);
    } finally {
      this.#inFlight = false;
      if (this.#queue.length > 0) this.#schedule();
    }
  }

  async #send(batch: readonly PendingCall[]): Promise<unknown> {
    const compiled = this.#compile();
    const keys: string[] = [];
    const args: string[] = [String(batch.length)];
    for (const call of batch) {
      keys.push(...call.keys);
      args.push(String(call.op), String(call.keys.length), String(call.args.length), ...call.args);
    }
    try {
      return await this.#client.evalsha(compiled.sha, keys.length, ...keys, ...args);
    } catch (error) {
      // The server forgot the script (restart, SCRIPT FLUSH): send it whole once.
      if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
      return await this.#client.eval(compiled.lua, keys.length, ...keys, ...args);
    }
  }

  /** The batch script over every script registered so far (rebuilt when one is added). */
  #compile(): Compiled {
    if (this.#compiled?.ops === this.#scripts.length) return this.#compiled;
    const functions = this.#scripts.map(
      (script, i) => `ops[${i + 1}] = function(KEYS, ARGV)\n${script.lua}\nend`,
    );
    const lua = ["local ops = {}", ...functions, DISPATCH_LUA].join("\n");
    this.#compiled = { lua, sha: createHash("sha1").update(lua).digest("hex"), ops: this.#scripts.length };
    return this.#compiled;
  }
}

const batchers = new WeakMap<Redis, ScriptBatcher>();

/** The one batcher of a connection, made on first use. */
export function scriptBatcherFor(client: Redis): ScriptBatcher {
  let batcher = batchers.get(client);
  if (batcher === undefined) {
    batcher = new ScriptBatcher(client);
    batchers.set(client, batcher);
  }
  return batcher;
}
