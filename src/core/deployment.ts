// Deployment: the type and `Deployment.validate` (every problem with its field path).

export { Deployment } from "./config/deployment-schema.js";
export type {
  BudgetConfig,
  Deployment as DeploymentSpec,
  OnCapacityExhausted,
  PricingConfig,
  ServingConfig,
} from "./deployment-types.js";
export { servingDefaults } from "./deployment-types.js";
