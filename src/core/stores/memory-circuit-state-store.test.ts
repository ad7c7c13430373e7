// Runs the CircuitStateStore contract against the in-process implementation.

import { circuitStateStoreContract } from "./circuit-state-store.contract.js";
import { MemoryCircuitStateStore } from "./memory-circuit-state-store.js";

circuitStateStoreContract("MemoryCircuitStateStore", () => new MemoryCircuitStateStore());
