// In-process CircuitStateStore: circuit state of a single-node system (and of tests).
// CircuitBreakerActor uses it when no cluster store is configured; the Redis store behaves the same
// (both run circuit-state-store.contract.ts).

import { type CircuitRecord, type CircuitStateStore, closedCircuit } from "./circuit-state-store.js";

export class MemoryCircuitStateStore implements CircuitStateStore {
  readonly #records = new Map<string, CircuitRecord>();

  async get(endpoint: string): Promise<CircuitRecord> {
    const record = this.#records.get(endpoint);
    return record === undefined ? closedCircuit() : copyRecord(record);
  }

  async set(endpoint: string, record: CircuitRecord): Promise<void> {
    this.#records.set(endpoint, copyRecord(record));
  }

  async update(endpoint: string, fn: (current: CircuitRecord) => CircuitRecord): Promise<CircuitRecord> {
    // Read, apply and write in one synchronous step, so no other call can interleave.
    const current = this.#records.get(endpoint);
    const next = copyRecord(fn(current === undefined ? closedCircuit() : copyRecord(current)));
    this.#records.set(endpoint, next);
    return copyRecord(next);
  }

  async list(): Promise<Array<[string, CircuitRecord]>> {
    return [...this.#records.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([endpoint, record]) => [endpoint, copyRecord(record)]);
  }
}

/** A copy without optional fields set to undefined, as a serialised record would read back. */
function copyRecord(record: CircuitRecord): CircuitRecord {
  const copy: CircuitRecord = {
    state: record.state,
    consecutiveFailures: record.consecutiveFailures,
    halfOpenInFlight: record.halfOpenInFlight,
  };
  if (record.openedAt !== undefined) copy.openedAt = record.openedAt;
  if (record.retryAt !== undefined) copy.retryAt = record.retryAt;
  if (record.forced !== undefined) copy.forced = record.forced;
  if (record.probesExpireAt !== undefined) copy.probesExpireAt = record.probesExpireAt;
  return copy;
}
