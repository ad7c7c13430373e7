// Whether this node reaches its shared store (docs/cluster.md, "When Redis is unavailable"): the one
// answer the failover stores, the membership, /readyz and `rakka_store_available` all read. Fed by
// the ioredis client's events (`close`: lost; `ready`: back), by store calls that fail because the
// connection is down, and by heartbeats. Logs once per change of state.

import type { Redis } from "ioredis";
import type { Logger } from "../actor/index.js";

export type StoreState = "available" | "unavailable";

/** What the ioredis client rejects with when it cannot reach the server (not a reply of the server). */
const CONNECTION_FAILURE =
  /^(Connection is closed|Command timed out|Reached the max retries per request limit|Stream isn't writeable|connect ETIMEDOUT)/;
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
]);
/** Server replies that mean "not serving now", as good as unreachable. */
const NOT_SERVING_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

export class StoreAvailability {
  readonly #logger: Logger;
  readonly #listeners = new Set<(state: StoreState) => void>();
  #state: StoreState = "available";
  #client: Redis | undefined;
  #closed = false;

  /** The cluster node builds one per node; tests build one per client. */
  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** The state now: "available" until something says otherwise. */
  get state(): StoreState {
    return this.#state;
  }

  get available(): boolean {
    return this.#state === "available";
  }

  /**
   * The cluster node calls this once with the client its stores share: a closed connection marks
   * the store unavailable at once, a ready one (after ioredis reconnected with backoff) available.
   */
  watch(client: Redis): void {
    this.#client = client;
    client.on("close", () => this.markUnavailable("connection closed"));
    client.on("end", () => this.markUnavailable("connection ended"));
    client.on("ready", () => this.markAvailable());
  }

  /** The failover stores call this when a call failed with a connection failure, membership when a heartbeat failed. */
  markUnavailable(reason: string): void {
    this.#set("unavailable", reason);
  }

  /** Membership calls this when a heartbeat landed; the client's `ready` event does too. */
  markAvailable(): void {
    this.#set("available", undefined);
  }

  /**
   * The failover stores (write-back on reconnect), the membership (re-register on reconnect) and the
   * cluster node (the gauge) subscribe here. Called after each change; returns the unsubscribe.
   */
  onChange(listener: (state: StoreState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The failover stores ask this of every rejected Redis call: true when it failed because the
   * server cannot be reached (the call is then answered from memory), false for the store's own
   * refusals (RangeError, a lost compare-and-set, a script error), which reach the caller as they are.
   */
  isConnectionFailure(error: unknown): boolean {
    if (!(error instanceof Error) || error instanceof RangeError || error.name === "StoreConflictError")
      return false;
    if (error.name === "ReplyError") return NOT_SERVING_REPLY.test(error.message);
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string" && CONNECTION_CODES.has(code)) return true;
    if (CONNECTION_FAILURE.test(error.message) || error.name === "MaxRetriesPerRequestError") return true;
    // anything else thrown while the connection is not up (a TypeError is the store reading a bad reply)
    return !(error instanceof TypeError) && this.#client !== undefined && this.#client.status !== "ready";
  }

  /** At shutdown, before the client quits: later changes (the quit's own `close`) are neither logged nor told. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
  }

  #set(state: StoreState, reason: string | undefined): void {
    if (this.#closed || state === this.#state) return;
    this.#state = state;
    if (state === "unavailable")
      this.#logger.warn({ reason }, "cluster store unavailable: Redis cannot be reached");
    else this.#logger.info({}, "cluster store available again");
    for (const listener of [...this.#listeners]) {
      try {
        listener(state);
      } catch (error) {
        this.#logger.error({ error: (error as Error).message }, "cluster store state listener failed");
      }
    }
  }
}
