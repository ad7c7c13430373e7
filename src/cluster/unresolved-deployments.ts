// Deployments a node took from the catalog but cannot run as stored: a secret source it cannot
// resolve, or an inline secret it cannot decrypt (docs/cluster.md, "One catalog"). CatalogSync
// marks them; the guarded registry refuses to start their engines, so the deployment manager marks
// the replica failed with the reason, as for any replica that cannot start.

import type { DeploymentSpec } from "../core/deployment.js";
import type { RuntimeRegistry } from "../protocol/runtime-registry.js";

export class UnresolvedDeployments {
  readonly #reasons = new WeakMap<DeploymentSpec, string>();

  /** CatalogSync calls this before it applies `deployment` (validated with stand-in secrets). */
  mark(deployment: DeploymentSpec, reason: string): void {
    this.#reasons.set(deployment, reason);
  }

  /** The reason `deployment` cannot run here; undefined for every deployment that can. */
  reasonFor(deployment: DeploymentSpec): string | undefined {
    return this.#reasons.get(deployment);
  }

  /**
   * The package entry hands the serving layer this registry on a cluster node: each runtime's
   * engineProps throws the mark's reason for a marked deployment and is unchanged otherwise.
   */
  guard(registry: RuntimeRegistry): RuntimeRegistry {
    return new Map(
      [...registry].map(([name, entry]) => [
        name,
        {
          ...entry,
          engineProps: (deployment, replica, deps) => {
            const reason = this.reasonFor(deployment);
            if (reason !== undefined) throw new Error(reason);
            return entry.engineProps(deployment, replica, deps);
          },
        },
      ]),
    );
  }
}
