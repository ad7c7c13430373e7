// The deployment catalog: every deployment's validated spec and lifecycle state, the state behind
// DeploymentManagerActor (apply / remove / list / get). The gateway's /v1/models and /readyz and the
// 404 for unknown models read through it; in a cluster it lives in Redis so every node agrees.

export type DeploymentState = "pending" | "serving" | "draining" | "removed" | "failed";

/** One deployment as the catalog stores it. */
export interface DeploymentRecord {
  /** The deployment name, i.e. the `model` clients ask for; the catalog key. */
  name: string;
  /** The validated deployment; must be JSON-serialisable (it is stored as JSON). */
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
   * DeploymentManagerActor calls this to record a change it alone owns (on a single node, or while
   * it holds the placement lease): creates or replaces the record, whatever version is stored.
   * Rejects when the record cannot be serialised as JSON.
   */
  put(record: DeploymentRecord): Promise<void>;

  /**
   * DeploymentManagerActor calls this for `get` and when a request names a deployment it has not
   * cached. Resolves undefined for an unknown name.
   */
  get(name: string): Promise<DeploymentRecord | undefined>;

  /**
   * DeploymentManagerActor calls this once a removed deployment has finished draining. Resolves
   * true when the record was there.
   */
  remove(name: string): Promise<boolean>;

  /**
   * DeploymentManagerActor calls this for `list` (/v1/models, /readyz, admin API): every record,
   * sorted by name in plain string (UTF-16 code unit) order.
   */
  list(): Promise<DeploymentRecord[]>;

  /**
   * DeploymentManagerActor calls this for `apply` and every state transition when other nodes may
   * write too: stores `record` only if the stored version equals `expectedVersion` (0: only if no
   * record with that name exists) and resolves whether it did. The caller writes
   * `version: expectedVersion + 1`; on false it re-reads and decides again.
   */
  compareAndPut(record: DeploymentRecord, expectedVersion: number): Promise<boolean>;
}
