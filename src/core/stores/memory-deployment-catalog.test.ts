// Runs the DeploymentCatalog contract against the in-process implementation.

import { deploymentCatalogContract } from "./deployment-catalog.contract.js";
import { MemoryDeploymentCatalog } from "./memory-deployment-catalog.js";

deploymentCatalogContract("MemoryDeploymentCatalog", () => new MemoryDeploymentCatalog());
