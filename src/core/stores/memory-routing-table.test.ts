// Runs the RoutingTable contract against the in-process implementation.

import { MemoryRoutingTable } from "./memory-routing-table.js";
import { routingTableContract } from "./routing-table.contract.js";

routingTableContract("MemoryRoutingTable", () => new MemoryRoutingTable());
