// CircuitStateStore of a cluster node that outlives a Redis outage (docs/cluster.md, "When Redis is
// unavailable"): the Redis circuits while the store is available; while it is not, memory circuits
// that start from the records Redis last returned (an open circuit stays open). What this node
// learns during the outage stays on it: on reconnect the shared circuits take over again.

import { type CircuitRecord, type CircuitStateStore, MemoryCircuitStateStore } from "../core/stores/index.js";
import type { StoreFailover } from "./store-failover.js";

export class FailoverCircuitStateStore implements CircuitStateStore {
  readonly #shared: CircuitStateStore;
  readonly #failover: StoreFailover;
  readonly #known = new Map<string, CircuitRecord>();
  #local = new MemoryCircuitStateStore();
  #seeded = new Set<string>();

  /** The cluster node wraps its RedisCircuitStateStore in one; CircuitBreakerActor uses it as any store. */
  constructor(shared: CircuitStateStore, failover: StoreFailover) {
    this.#shared = shared;
    this.#failover = failover;
    failover.availability.onChange((state) => {
      if (state !== "available") return;
      this.#local = new MemoryCircuitStateStore();
      this.#seeded = new Set();
    });
  }

  get(endpoint: string): Promise<CircuitRecord> {
    return this.#failover.serve(
      "circuit.get",
      async () => this.#remember(endpoint, await this.#shared.get(endpoint)),
      async () => (await this.#seed(endpoint)).get(endpoint),
    );
  }

  set(endpoint: string, record: CircuitRecord): Promise<void> {
    return this.#failover.serve(
      "circuit.set",
      async () => {
        await this.#shared.set(endpoint, record);
        this.#remember(endpoint, record);
      },
      async () => {
        this.#seeded.add(endpoint);
        await this.#local.set(endpoint, record);
      },
    );
  }

  /** Every transition, the check before each attempt included: an admission, refused in "closed" mode. */
  update(endpoint: string, fn: (current: CircuitRecord) => CircuitRecord): Promise<CircuitRecord> {
    return this.#failover.admit(
      "circuit.update",
      async () => this.#remember(endpoint, await this.#shared.update(endpoint, fn)),
      async () => (await this.#seed(endpoint)).update(endpoint, fn),
    );
  }

  list(): Promise<Array<[string, CircuitRecord]>> {
    return this.#failover.serve(
      "circuit.list",
      async () => {
        const records = await this.#shared.list();
        for (const [endpoint, record] of records) this.#remember(endpoint, record);
        return records;
      },
      async () => {
        for (const endpoint of this.#known.keys()) await this.#seed(endpoint);
        return this.#local.list();
      },
    );
  }

  #remember(endpoint: string, record: CircuitRecord): CircuitRecord {
    this.#known.set(endpoint, record);
    return record;
  }

  /** The memory store, holding the endpoint's last known record from its first use in this outage. */
  async #seed(endpoint: string): Promise<MemoryCircuitStateStore> {
    const local = this.#local;
    if (!this.#seeded.has(endpoint)) {
      this.#seeded.add(endpoint);
      const known = this.#known.get(endpoint);
      // probes admitted before the outage report to Redis, never here
      if (known !== undefined) await local.set(endpoint, { ...known, halfOpenInFlight: 0 });
    }
    return local;
  }
}
