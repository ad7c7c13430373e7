// A node's copy of the shared circuits (docs/cluster.md, "Hot-path cost"): the remote worker checks
// the circuit before every attempt and records every result, and for a healthy endpoint neither
// changes the record. This store answers those from a per-node copy without a Redis round trip;
// every change still goes through the shared store (compare-and-set), is announced on a pub/sub
// channel, and every node re-reads the record it names. A periodic refresh heals a missed message.

import type { Redis } from "ioredis";
import type { CircuitRecord, CircuitStateStore } from "../core/stores/index.js";

export interface CachedCircuitStateStoreOptions {
  /** The shared store every change goes through (RedisCircuitStateStore). */
  readonly inner: CircuitStateStore;
  /** Publishes change notices; the node's shared connection. */
  readonly client: Redis;
  /** A connection of its own in subscriber mode (ioredis `duplicate()`); closed by close(). */
  readonly subscriber: Redis;
  readonly prefix: string;
  /** Called with a notice or refresh that failed (logged by the caller). */
  readonly onError?: (error: Error) => void;
}

export class CachedCircuitStateStore implements CircuitStateStore {
  readonly #options: CachedCircuitStateStoreOptions;
  readonly #channel: string;
  readonly #cache = new Map<string, CircuitRecord>();

  constructor(options: CachedCircuitStateStoreOptions) {
    this.#options = options;
    this.#channel = `${options.prefix}circuits:changed`;
    options.subscriber.on("message", (channel: string, notice: string) => {
      if (channel === this.#channel) this.#noticed(notice);
    });
  }

  /** The cluster node calls this once at start: subscribes, then loads every known circuit. */
  async start(): Promise<void> {
    await this.#options.subscriber.subscribe(this.#channel);
    await this.refresh();
  }

  /** The cluster node calls this every heartbeat: re-reads every circuit, healing a missed notice. */
  async refresh(): Promise<void> {
    try {
      const records = await this.#options.inner.list();
      this.#cache.clear();
      for (const [endpoint, record] of records) this.#cache.set(endpoint, record);
    } catch (error) {
      this.#options.onError?.(error as Error);
    }
  }

  async get(endpoint: string): Promise<CircuitRecord> {
    const cached = this.#cache.get(endpoint);
    if (cached) return copy(cached);
    const record = await this.#options.inner.get(endpoint);
    this.#cache.set(endpoint, record);
    return copy(record);
  }

  async set(endpoint: string, record: CircuitRecord): Promise<void> {
    await this.#options.inner.set(endpoint, record);
    this.#cache.set(endpoint, copy(record));
    await this.#announce(endpoint, record);
  }

  async update(endpoint: string, fn: (current: CircuitRecord) => CircuitRecord): Promise<CircuitRecord> {
    const cached = this.#cache.get(endpoint);
    let decided: CircuitRecord | undefined;
    if (cached) {
      // fn is pure: if it changes nothing on the copy this node holds, nothing is written anywhere
      decided = fn(copy(cached));
      if (same(decided, cached)) return copy(decided);
    }
    const before = cached ? JSON.stringify(cached) : undefined;
    // when the shared record is still what this node held, fn's answer is already known
    const result = await this.#options.inner.update(endpoint, (current) =>
      cached && decided && same(current, cached) ? decided : fn(current),
    );
    this.#cache.set(endpoint, copy(result));
    if (JSON.stringify(result) !== before) await this.#announce(endpoint, result);
    return copy(result);
  }

  list(): Promise<Array<[string, CircuitRecord]>> {
    return this.#options.inner.list();
  }

  /** At shutdown (the node's connection is closed by its owner). */
  async close(): Promise<void> {
    const subscriber = this.#options.subscriber;
    await subscriber.quit().catch(() => subscriber.disconnect());
  }

  /** A notice is `<record JSON>\n<endpoint>`: receivers apply it at once, then confirm by a read. */
  async #announce(endpoint: string, record: CircuitRecord): Promise<void> {
    try {
      await this.#options.client.publish(this.#channel, `${JSON.stringify(record)}\n${endpoint}`);
    } catch (error) {
      // the others heal at their next refresh
      this.#options.onError?.(error as Error);
    }
  }

  #noticed(notice: string): void {
    const split = notice.indexOf("\n");
    if (split < 0) return;
    const endpoint = notice.slice(split + 1);
    try {
      this.#cache.set(endpoint, JSON.parse(notice.slice(0, split)) as CircuitRecord);
    } catch {
      this.#cache.delete(endpoint);
    }
    // notices from different nodes may arrive out of order: the stored record decides
    void this.#reload(endpoint);
  }

  async #reload(endpoint: string): Promise<void> {
    try {
      this.#cache.set(endpoint, await this.#options.inner.get(endpoint));
    } catch (error) {
      this.#cache.delete(endpoint);
      this.#options.onError?.(error as Error);
    }
  }
}

function copy(record: CircuitRecord): CircuitRecord {
  return { ...record };
}

function same(a: CircuitRecord, b: CircuitRecord): boolean {
  return (
    a.state === b.state &&
    a.consecutiveFailures === b.consecutiveFailures &&
    a.halfOpenInFlight === b.halfOpenInFlight &&
    a.openedAt === b.openedAt &&
    a.retryAt === b.retryAt &&
    a.forced === b.forced &&
    a.probesExpireAt === b.probesExpireAt
  );
}
