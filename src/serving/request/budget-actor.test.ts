// BudgetActor over a real MemorySpendLedger: admission is one reservation against the limit, and a
// ledger that fails in any way (a cluster store's error reply) answers the request with
// `unavailable` rather than leaving it waiting or crashing the actor.

import { describe, expect, it } from "vitest";
import { type ActorContext, callbackRef, silentLogger } from "../../actor/index.js";
import { MemorySpendLedger } from "../../core/stores/index.js";
import { flushMicrotasks, ManualClock } from "../../testkit/manual-clock.js";
import { BudgetActor, type BudgetDecision, type BudgetMessage } from "./budget-actor.js";

function budgetActor(ledger: MemorySpendLedger, logged: string[] = []) {
  const log = { ...silentLogger, error: (_fields: object, message: string) => logged.push(message) };
  const context = { clock: new ManualClock(0), log } as unknown as ActorContext<BudgetMessage>;
  const actor = new BudgetActor(context, { ledger, throttle: () => {} });
  return {
    reserve: (estimateUsd: number) =>
      new Promise<BudgetDecision>((resolve) =>
        actor.receive({
          type: "reserve",
          deployment: "gpt",
          budget: { maxSpendPerHourUsd: 10, onExceeded: "reject" },
          estimateUsd,
          replyTo: callbackRef<BudgetDecision>("test", resolve),
        }),
      ),
    async send(message: BudgetMessage) {
      actor.receive(message);
      await flushMicrotasks();
    },
  };
}

describe("BudgetActor", () => {
  it("admits reservations up to the limit, then refuses with budget_exceeded", async () => {
    const budget = budgetActor(new MemorySpendLedger());
    expect((await budget.reserve(6)).type).toBe("granted");
    const refused = await budget.reserve(6);
    expect(refused.type).toBe("exceeded");
    expect(refused.type === "exceeded" && refused.error.kind).toBe("budget_exceeded");
  });

  it("a ledger that fails answers unavailable naming the failure; a failed settle is only logged", async () => {
    const ledger = new MemorySpendLedger();
    const readOnly = new Error("READONLY You can't write against a read only replica.");
    ledger.reserveWithin = () => Promise.reject(readOnly);
    ledger.settle = () => Promise.reject(readOnly);
    const logged: string[] = [];
    const budget = budgetActor(ledger, logged);
    const decision = await budget.reserve(1);
    expect(decision.type).toBe("exceeded");
    if (decision.type !== "exceeded") return;
    expect(decision.error.kind).toBe("unavailable");
    expect(decision.error.message).toBe(`shared store failed: ${readOnly.message}`);
    await budget.send({ type: "settle", reservationId: "r1", actualUsd: 1 });
    expect(logged).toEqual(["spend ledger call failed"]);
    // the actor lives on
    ledger.reserveWithin = MemorySpendLedger.prototype.reserveWithin.bind(ledger);
    expect((await budget.reserve(1)).type).toBe("granted");
  });
});
