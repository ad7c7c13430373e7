// The ioredis client every Redis store of a cluster node shares (docs/cluster.md): one connection
// per node, made from `[cluster] redis_url`. Options are chosen so a Redis outage surfaces as a
// prompt rejection the store's caller can act on (on_store_unavailable), never as a call that hangs.

import { Redis, type RedisOptions } from "ioredis";

/** Tunables for createRedisConnection; every field has a default suited to a gateway node. */
export interface RedisConnectionOptions {
  /** Shown in `CLIENT LIST`, e.g. the node id. */
  connectionName?: string;
  /** How often a command queued while the connection is down is retried before it rejects. Default 2. */
  maxRetriesPerRequest?: number;
  /** Reconnect backoff: attempt n waits min(baseDelayMs × 2^(n-1), maxDelayMs). Defaults 50 and 2000. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A command with no reply after this long rejects. Default 2000 ms. */
  commandTimeoutMs?: number;
  /** Connecting (TCP + ready check) gives up after this long and counts as one failed attempt. Default 2000 ms. */
  connectTimeoutMs?: number;
  /**
   * Called with each connection error (refused, reset, timed out). Failed commands reject on their
   * own; this is for logs and metrics. Default: ignored, so ioredis does not print them as unhandled.
   */
  onError?: (error: Error) => void;
}

/**
 * The reconnect delay ioredis asks for after `attempt` failed attempts (1, 2, ...): exponential,
 * capped, and never giving up (a node keeps trying to rejoin Redis for as long as it runs).
 */
export function reconnectDelayMs(attempt: number, baseDelayMs = 50, maxDelayMs = 2_000): number {
  return Math.min(baseDelayMs * 2 ** Math.max(0, attempt - 1), maxDelayMs);
}

/**
 * The cluster wiring calls this once per node (and tests once per file) and hands the client to
 * every Redis store; the caller owns it and calls `quit()` at shutdown.
 *
 * - `lazyConnect: false`: connecting starts at once, so a wrong URL shows up at startup.
 * - `enableOfflineQueue: true`: commands issued while (re)connecting wait for the connection
 *   instead of failing at once, which covers startup and a brief blip; `maxRetriesPerRequest`
 *   bounds that wait to a few reconnect attempts, after which they reject.
 * - `commandTimeout`: a command on a connection that is up but unanswered still rejects.
 */
export function createRedisConnection(url: string, options: RedisConnectionOptions = {}): Redis {
  const baseDelayMs = options.baseDelayMs ?? 50;
  const maxDelayMs = options.maxDelayMs ?? 2_000;
  const redisOptions: RedisOptions = {
    lazyConnect: false,
    enableOfflineQueue: true,
    enableReadyCheck: true,
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    commandTimeout: options.commandTimeoutMs ?? 2_000,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    retryStrategy: (attempt) => reconnectDelayMs(attempt, baseDelayMs, maxDelayMs),
  };
  if (options.connectionName !== undefined) redisOptions.connectionName = options.connectionName;
  const client = new Redis(url, redisOptions);
  const onError = options.onError ?? (() => {});
  client.on("error", onError);
  return client;
}
