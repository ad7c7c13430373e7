// In-process DeploymentCatalog: the catalog of a single-node system (and of tests).
// DeploymentManagerActor uses it when no cluster store is configured; the Redis catalog behaves the
// same (both run deployment-catalog.contract.ts), down to storing records as JSON.

import type { DeploymentCatalog, DeploymentRecord } from "./deployment-catalog.js";

export class MemoryDeploymentCatalog implements DeploymentCatalog {
  /** name → the record's JSON text, so a stored record can never share objects with a caller. */
  readonly #records = new Map<string, string>();
  #marked = false;

  async mark(): Promise<void> {
    this.#marked = true;
  }

  async marked(): Promise<boolean> {
    return this.#marked;
  }

  async put(record: DeploymentRecord): Promise<void> {
    this.#records.set(record.name, JSON.stringify(record));
  }

  async get(name: string): Promise<DeploymentRecord | undefined> {
    const json = this.#records.get(name);
    return json === undefined ? undefined : parseRecord(json);
  }

  async remove(name: string): Promise<boolean> {
    return this.#records.delete(name);
  }

  async list(): Promise<DeploymentRecord[]> {
    return [...this.#records.keys()]
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((name) => parseRecord(this.#records.get(name)!));
  }

  async compareAndPut(record: DeploymentRecord, expectedVersion: number): Promise<boolean> {
    // Serialise first: a record that cannot be stored rejects without a partial write.
    const json = JSON.stringify(record);
    const stored = this.#records.get(record.name);
    const matches =
      expectedVersion === 0
        ? stored === undefined
        : stored !== undefined && parseRecord(stored).version === expectedVersion;
    if (!matches) return false;
    this.#records.set(record.name, json);
    return true;
  }
}

function parseRecord(json: string): DeploymentRecord {
  return JSON.parse(json) as DeploymentRecord;
}
