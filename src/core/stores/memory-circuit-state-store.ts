// In-process CircuitStateStore: circuit state of a single-node system (and of tests).
// CircuitBreakerActor uses it when no cluster store is configured; the Redis store behaves the same
// (both run circuit-state-store.contract.ts).

import {
  type CircuitRecord,
  type CircuitStateStore,
  closedCircuit,
  copyCircuitRecord,
} from "./circuit-state-store.js";

export class MemoryCircuitStateStore implements CircuitStateStore {
  readonly #records = new Map<string, CircuitRecord>();

  async get(endpoint: string): Promise<CircuitRecord> {
    const record = this.#records.get(endpoint);
    return record === undefined ? closedCircuit() : copyCircuitRecord(record);
  }

  async set(endpoint: string, record: CircuitRecord): Promise<void> {
    this.#records.set(endpoint, copyCircuitRecord(record));
  }

  async update(endpoint: string, fn: (current: CircuitRecord) => CircuitRecord): Promise<CircuitRecord> {
    // Read, apply and write in one synchronous step, so no other call can interleave.
    const current = this.#records.get(endpoint);
    const next = copyCircuitRecord(fn(current === undefined ? closedCircuit() : copyCircuitRecord(current)));
    this.#records.set(endpoint, next);
    return copyCircuitRecord(next);
  }

  async list(): Promise<Array<[string, CircuitRecord]>> {
    return [...this.#records.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([endpoint, record]) => [endpoint, copyCircuitRecord(record)]);
  }
}
