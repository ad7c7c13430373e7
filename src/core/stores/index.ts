// The stores that can be shared across cluster nodes (docs/architecture.md, "Layers"): the interfaces the serving and
// remote layers program against, and their in-memory implementations for a single process. The
// Redis implementations live in src/cluster/; the contract suites (*.contract.ts) are test-only.

export {
  type CircuitRecord,
  type CircuitState,
  type CircuitStateStore,
  closedCircuit,
  copyCircuitRecord,
  sameCircuitRecord,
} from "./circuit-state-store.js";
export type { DeploymentCatalog, DeploymentRecord, DeploymentState } from "./deployment-catalog.js";
export { MemoryCircuitStateStore } from "./memory-circuit-state-store.js";
export { MemoryDeploymentCatalog } from "./memory-deployment-catalog.js";
export { MemoryRateLimitStore } from "./memory-rate-limit-store.js";
export { MemoryRoutingTable } from "./memory-routing-table.js";
export { MemorySpendLedger } from "./memory-spend-ledger.js";
export type {
  AcquireAllResult,
  AcquireRequest,
  AcquireResult,
  BucketLimits,
  KeyedAcquireRequest,
  Penalty,
  RateLimitStore,
} from "./rate-limit-store.js";
export type { LoadReport, RoutingTable, RoutingTarget } from "./routing-table.js";
export {
  checkSpendLimits,
  DAY_MS,
  HOUR_MS,
  type SpendLedger,
  type SpendLimits,
  type SpendReservation,
  type SpendTotals,
  type SpendWindow,
  untilWindowEnds,
  utcDayStart,
  utcHourStart,
} from "./spend-ledger.js";
