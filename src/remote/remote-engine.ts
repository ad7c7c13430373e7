// Builds one remote engine replica for the runtime registry; the package entry passes the
// provider's adapter factory.

import { oneForOne, type Props, props, resume } from "../actor/index.js";
import type { DeploymentSpec } from "../core/deployment.js";
import type { EngineCommand, EngineDeps } from "../protocol/engine-messages.js";
import type { ReplicaIdentity } from "../protocol/runtime-registry.js";
import type { ProviderAdapter } from "./provider.js";
import { RemoteEngineCoreActor, type RemoteEngineMessage } from "./remote-engine-core-actor.js";

export function remoteEngineProps(
  deployment: DeploymentSpec,
  replica: ReplicaIdentity,
  deps: EngineDeps,
  adapter: ProviderAdapter,
): Props<EngineCommand> {
  const engine = props<RemoteEngineMessage>(
    (context) =>
      new RemoteEngineCoreActor(context, { deployment, replicaId: replica.replicaId, adapter, deps }),
    { supervision: oneForOne(() => resume()) },
  );
  // the engine also takes its workers' internal messages; outsiders only send EngineCommands
  return engine as unknown as Props<EngineCommand>;
}
