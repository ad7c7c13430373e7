// The runtime registry: which runtimes this build has; for each, the schema of its
// runtime_config and how to build one engine replica. Filled only by the package entry
// (src/index.ts) and handed down, so serving never imports a concrete runtime (docs/architecture.md, "Layers").

import type { Props } from "../actor/index.js";
import type { RuntimeSchema } from "../core/config/deployment-schema.js";
import type { DeploymentSpec, PricingConfig } from "../core/deployment.js";
import type { RuntimeKind } from "../core/runtime-kind.js";
import type { EngineCommand, EngineDeps } from "./engine-messages.js";

export interface ReplicaIdentity {
  /** Unique per replica and generation, e.g. `echo#2.0`; used as the routing target id. */
  readonly replicaId: string;
  readonly index: number;
}

export interface RuntimeRegistryEntry extends RuntimeSchema {
  /** Called by the DeploymentManagerActor for each replica it starts. */
  engineProps(deployment: DeploymentSpec, replica: ReplicaIdentity, deps: EngineDeps): Props<EngineCommand>;
  /**
   * The runtime's list price for the deployment's model (e.g. OpenAI's table), used when the
   * deployment sets no [deployment.pricing]. Absent for free (local) runtimes.
   */
  pricing?(deployment: DeploymentSpec): PricingConfig | undefined;
}

export type RuntimeRegistry = ReadonlyMap<RuntimeKind, RuntimeRegistryEntry>;
