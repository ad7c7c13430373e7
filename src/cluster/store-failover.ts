// The rule every failover store applies to each call (docs/cluster.md, "When Redis is unavailable"):
// while the store is available the call goes to Redis, and one that fails because Redis cannot be
// reached flips the state and is answered here instead, so the request is not lost. While it is
// unavailable, `on_store_unavailable = "open"` answers from this node's memory; `"closed"` refuses
// admissions (a request that needs the shared store) with 503 `unavailable`.

import type { Clock } from "../actor/index.js";
import { errors } from "../core/inference-error.js";
import type { StoreAvailability } from "./store-availability.js";

export type OnStoreUnavailable = "open" | "closed";

export interface StoreFailoverOptions {
  readonly availability: StoreAvailability;
  /** `[cluster] on_store_unavailable`. */
  readonly mode: OnStoreUnavailable;
  /**
   * The live nodes at the last heartbeat, this one included (at least 1): while unavailable each
   * node enforces 1 / liveNodes of every limit and budget.
   */
  readonly liveNodes: () => number;
  /** For the write-back on reconnect, which has no caller's `now`. */
  readonly clock: Pick<Clock, "now">;
  /**
   * Told the duration of every call that reached Redis (`op` like "rate_limit.try_acquire_all"),
   * for `rakka_store_latency_seconds{op}`; `elapsedMs` measures it (default: performance.now).
   */
  readonly latency?: (op: string, seconds: number) => void;
  readonly elapsedMs?: () => number;
  /** Told a buffered write that Redis refused for good (an error reply, not a lost connection). */
  readonly onWriteBackDropped?: (error: Error) => void;
}

export class StoreFailover {
  readonly availability: StoreAvailability;
  readonly mode: OnStoreUnavailable;
  readonly clock: Pick<Clock, "now">;
  readonly #liveNodes: () => number;
  readonly #latency: ((op: string, seconds: number) => void) | undefined;
  readonly #elapsedMs: () => number;
  readonly #onWriteBackDropped: ((error: Error) => void) | undefined;

  /** The cluster node builds one and hands it to each failover store. */
  constructor(options: StoreFailoverOptions) {
    this.availability = options.availability;
    this.mode = options.mode;
    this.clock = options.clock;
    this.#liveNodes = options.liveNodes;
    this.#latency = options.latency;
    this.#elapsedMs = options.elapsedMs ?? (() => performance.now());
    this.#onWriteBackDropped = options.onWriteBackDropped;
  }

  /** This node's share of every limit while the store is unavailable: 1 / live nodes at the last heartbeat. */
  share(): number {
    const nodes = this.#liveNodes();
    return 1 / (Number.isFinite(nodes) && nodes >= 1 ? Math.floor(nodes) : 1);
  }

  /**
   * An admission (a rate-limit permit, a budget reservation, a circuit transition): Redis when
   * available, else memory in "open" mode; "closed" rejects with `unavailable`.
   */
  admit<T>(op: string, shared: () => Promise<T>, local: () => Promise<T>): Promise<T> {
    return this.#run(op, shared, () => {
      if (this.mode === "closed") throw errors.unavailable("cluster store unavailable");
      return local();
    });
  }

  /**
   * A call that admits nothing (a settle, a refund, a read for metrics or the admin API): Redis
   * when available, else memory (or the write-back buffer) whatever the mode, so it never rejects
   * because Redis is down.
   */
  serve<T>(op: string, shared: () => Promise<T>, local: () => Promise<T> | T): Promise<T> {
    return this.#run(op, shared, local);
  }

  /**
   * The write-back on reconnect calls this for each buffered write: true when it landed, false
   * when Redis is unreachable again (the write stays buffered). Other failures are dropped.
   */
  async writeBack(write: () => Promise<unknown>): Promise<boolean> {
    if (!this.availability.available) return false;
    try {
      await write();
      return true;
    } catch (error) {
      if (!this.availability.isConnectionFailure(error)) {
        this.#onWriteBackDropped?.(error as Error);
        return true;
      }
      this.availability.markUnavailable((error as Error).message);
      return false;
    }
  }

  async #run<T>(op: string, shared: () => Promise<T>, fallback: () => Promise<T> | T): Promise<T> {
    if (this.availability.available) {
      const startedAt = this.#latency ? this.#elapsedMs() : 0;
      try {
        const result = await shared();
        this.#latency?.(op, (this.#elapsedMs() - startedAt) / 1000);
        return result;
      } catch (error) {
        if (!this.availability.isConnectionFailure(error)) throw error;
        this.availability.markUnavailable((error as Error).message);
      }
    }
    return fallback();
  }
}
