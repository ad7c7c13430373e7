// The runtime registry: which runtimes this build has, each with the schema of its runtime_config.
// Filled only by the package entry (src/index.ts) and handed down, so serving never imports a
// concrete runtime (DESIGN.md §2).

import type { RuntimeSchema } from "../core/config/deployment-schema.js";
import type { RuntimeKind } from "../core/runtime-kind.js";

export interface RuntimeRegistryEntry extends RuntimeSchema {}

export type RuntimeRegistry = ReadonlyMap<RuntimeKind, RuntimeRegistryEntry>;
