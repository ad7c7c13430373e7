// The decision of one catalog sync round (docs/cluster.md, "One catalog"): the catalog's records
// (name → version) against what this node serves and has applied, as the applies and removes that
// bring the node to the catalog. Pure: no clock, no Redis, no actors; CatalogSync acts on it.

/** A catalog record as the decision sees it. */
export interface CatalogVersion {
  readonly name: string;
  readonly version: number;
}

/** This node's side of the comparison. */
export interface LocalCatalogState {
  /** Deployments this node serves (any state but draining / removed). */
  readonly served: ReadonlySet<string>;
  /** The catalog version this node last applied (or is applying) per deployment. */
  readonly applied: ReadonlyMap<string, number>;
  /** Deployments with an apply or remove still running here: left alone until it settles. */
  readonly busy: ReadonlySet<string>;
}

export interface ReconcileDecision {
  /** Catalog versions to apply here, in the catalog's order. */
  readonly apply: readonly CatalogVersion[];
  /** Deployments to remove here: served, but no longer in the catalog. */
  readonly remove: readonly string[];
}

/**
 * CatalogSync calls this each round (every second, and on each change notification). A record is
 * applied when this node has not applied its version yet; a served deployment with no record is
 * removed. Anything busy waits for the next round, so one deployment never has two changes in flight.
 */
export function reconcileCatalog(
  records: readonly CatalogVersion[],
  local: LocalCatalogState,
): ReconcileDecision {
  const inCatalog = new Set(records.map((record) => record.name));
  const apply = records.filter(
    (record) => !local.busy.has(record.name) && local.applied.get(record.name) !== record.version,
  );
  const remove = [...local.served]
    .filter((name) => !inCatalog.has(name) && !local.busy.has(name))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { apply, remove };
}
