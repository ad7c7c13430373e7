// Runs the SpendLedger contract against the in-process implementation.

import { MemorySpendLedger } from "./memory-spend-ledger.js";
import { spendLedgerContract } from "./spend-ledger.contract.js";

spendLedgerContract("MemorySpendLedger", () => new MemorySpendLedger());
