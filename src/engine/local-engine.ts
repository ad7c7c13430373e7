// Builds one local engine replica (EngineCoreActor → WorkerActor → ContextActor) for the runtime
// registry; the package entry passes the runtime's runner factory.

import { oneForOne, type Props, props, resume } from "../actor/index.js";
import type { DeploymentSpec } from "../core/deployment.js";
import type { ModelRunner } from "../core/model-runner.js";
import type { EngineCommand, EngineDeps } from "../protocol/engine-messages.js";
import type { ReplicaIdentity } from "../protocol/runtime-registry.js";
import { EngineCoreActor, type EngineMessage } from "./engine-core-actor.js";

export function localEngineProps(
  deployment: DeploymentSpec,
  replica: ReplicaIdentity,
  deps: EngineDeps,
  createRunner: () => ModelRunner,
): Props<EngineCommand> {
  const engine = props<EngineMessage>(
    (context) =>
      new EngineCoreActor(context, {
        deployment: deployment.name,
        replicaId: replica.replicaId,
        modelSource: deployment.model,
        limits: deployment.serving,
        createRunner,
        deps,
      }),
    { supervision: oneForOne(() => resume()) },
  );
  // the engine also takes its children's internal messages; outsiders only send EngineCommands
  return engine as unknown as Props<EngineCommand>;
}
