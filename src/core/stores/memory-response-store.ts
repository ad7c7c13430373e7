// In-process ResponseStore: the stored responses of a single-node system (and of tests). Bounded by
// `[server] responses_max_stored`: past it the oldest record is evicted, and expired records are
// dropped as they are met. Records are copied in and out, as a shared store would serialise them;
// the Redis store gives the same answers (both run response-store.contract.ts).

import { checkResponseTtl, type ResponseStore, type StoredResponse } from "./response-store.js";

export interface MemoryResponseStoreOptions {
  /** The most records kept (at least 1); a put past it evicts the oldest. */
  readonly maxStored: number;
}

interface Entry {
  readonly record: StoredResponse;
  readonly expiresAtMs: number;
}

export class MemoryResponseStore implements ResponseStore {
  readonly #maxStored: number;
  /** In insertion order (a replaced record moves to the end), so the first entry is the oldest. */
  readonly #entries = new Map<string, Entry>();

  /** The entry builds one when no cluster store is configured. */
  constructor(options: MemoryResponseStoreOptions) {
    if (!Number.isInteger(options.maxStored) || options.maxStored < 1)
      throw new RangeError(`maxStored must be a positive integer, got ${options.maxStored}`);
    this.#maxStored = options.maxStored;
  }

  /** Records held now, expired ones not yet dropped included (tests). */
  get size(): number {
    return this.#entries.size;
  }

  async put(record: StoredResponse, ttlMs: number, nowMs: number): Promise<void> {
    checkResponseTtl(ttlMs);
    const existing = this.#entries.get(record.id);
    if (existing && existing.expiresAtMs > nowMs && existing.record.clientId !== record.clientId)
      throw new Error(`response ${record.id} is another client's: not replaced`);
    this.#entries.delete(record.id);
    this.#entries.set(record.id, { record: structuredClone(record), expiresAtMs: nowMs + ttlMs });
    // the oldest records expire first when every TTL is the same: drop them from the front
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAtMs > nowMs) break;
      this.#entries.delete(id);
    }
    while (this.#entries.size > this.#maxStored) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  async get(id: string, clientId: string, nowMs: number): Promise<StoredResponse | undefined> {
    const entry = this.#live(id, nowMs);
    if (entry === undefined || entry.record.clientId !== clientId) return undefined;
    return structuredClone(entry.record);
  }

  async delete(id: string, clientId: string, nowMs: number): Promise<boolean> {
    const entry = this.#live(id, nowMs);
    if (entry === undefined || entry.record.clientId !== clientId) return false;
    this.#entries.delete(id);
    return true;
  }

  /** The entry unless it has expired at `nowMs` (an expired one is dropped). */
  #live(id: string, nowMs: number): Entry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= nowMs) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry;
  }
}
