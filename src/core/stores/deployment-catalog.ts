// The deployment catalog: a cluster's deployments, one versioned record each, in Redis so every node
// agrees (docs/cluster.md, "One catalog"). The admin API writes it and every node's catalog sync
// (src/cluster/catalog-sync.ts) reconciles its own deployment manager with it. A single process has
// no catalog: its deployment manager's own state is the list of deployments.

export type DeploymentState = "pending" | "serving" | "draining" | "removed" | "failed";

/** One deployment as the catalog stores it. */
export interface DeploymentRecord {
  /** The deployment name, i.e. the `model` clients ask for; the catalog key. */
  name: string;
  /**
   * The deployment as applied (the catalog sync stores the table as written, each secret as its
   * source or encrypted); must be JSON-serialisable (it is stored as JSON).
   */
  spec: unknown;
  /** pending → serving → draining → removed, or failed (with `reason`). */
  state: DeploymentState;
  /** Why the deployment is `failed` (or any other state worth explaining). */
  reason?: string;
  /** Bumped by the writer on every change (first write 1); the basis of compareAndPut. */
  version: number;
  /** When this version was written, ms since epoch. */
  updatedAt: number;
}

/**
 * Name → deployment record. All methods are async so Redis can implement them. Records are stored
 * as their JSON form: what comes back is a deep copy, and a field holding undefined reads as absent.
 */
export interface DeploymentCatalog {
  /**
   * Creates or replaces the record, whatever version is stored.
   * Rejects when the record cannot be serialised as JSON.
   */
  put(record: DeploymentRecord): Promise<void>;

  /**
   * The catalog sync (src/cluster/catalog-sync.ts) calls this for one deployment's record, after a
   * change notice or before a write. Resolves undefined for an unknown name.
   */
  get(name: string): Promise<DeploymentRecord | undefined>;

  /**
   * The admin API's remove (through the catalog sync) calls this. Resolves
   * true when the record was there.
   */
  remove(name: string): Promise<boolean>;

  /**
   * The catalog sync calls this on every reconciliation (each node, once a second): every record,
   * sorted by name in plain string (UTF-16 code unit) order.
   */
  list(): Promise<DeploymentRecord[]>;

  /**
   * The admin API's apply (through the catalog sync, with the POST's `if_version` or the version it
   * read) and a node's startup rule call this: stores `record` only if the stored version equals `expectedVersion` (0: only if no
   * record with that name exists) and resolves whether it did. The caller writes
   * `version: expectedVersion + 1`; on false it re-reads and decides again.
   */
  compareAndPut(record: DeploymentRecord, expectedVersion: number): Promise<boolean>;

  /**
   * The catalog sync sets a mark beside the records once it has read them, and checks it each
   * round: a mark gone means the store lost its data (a Redis restarted without persistence), so
   * the nodes write back the records they serve instead of removing every deployment.
   */
  mark(): Promise<void>;

  /** Whether the mark is there (see `mark`). */
  marked(): Promise<boolean>;
}
