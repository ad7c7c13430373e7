// Runs the RateLimitStore contract against the in-process implementation.

import { MemoryRateLimitStore } from "./memory-rate-limit-store.js";
import { rateLimitStoreContract } from "./rate-limit-store.contract.js";

rateLimitStoreContract("MemoryRateLimitStore", () => new MemoryRateLimitStore());
