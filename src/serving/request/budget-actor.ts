// BudgetActor: the spend ledger's front. RequestActors reserve a request's estimated cost at
// admission (one atomic check of spend plus open reservations over fixed UTC hours and days on the
// injected clock), settle it with the real cost, or release it when the request failed. Requests
// of deployments without a budget just record their cost. Serves the spend report.

import type { Actor, ActorContext, ActorRef } from "../../actor/index.js";
import type { BudgetConfig } from "../../core/deployment.js";
import { errors, type InferenceError, storeFailure } from "../../core/inference-error.js";
import { type SpendLedger, utcDayStart, utcHourStart } from "../../core/stores/index.js";

export type BudgetDecision =
  | { readonly type: "granted"; readonly reservationId: string }
  | { readonly type: "exceeded"; readonly error: InferenceError };

export interface SpendRow {
  readonly deployment: string;
  readonly hourUsd: number;
  readonly dayUsd: number;
  readonly reservedUsd: number;
}

export type BudgetMessage =
  | {
      readonly type: "reserve";
      readonly deployment: string;
      readonly budget: BudgetConfig;
      readonly estimateUsd: number;
      readonly replyTo: ActorRef<BudgetDecision>;
    }
  | { readonly type: "settle"; readonly reservationId: string; readonly actualUsd: number }
  | { readonly type: "release"; readonly reservationId: string }
  | { readonly type: "record"; readonly deployment: string; readonly usd: number }
  | { readonly type: "report"; readonly replyTo: ActorRef<readonly SpendRow[]> }
  | { readonly type: "window-rolled"; readonly deployment: string };

export interface BudgetOptions {
  readonly ledger: SpendLedger;
  /** `throttle`: halve the deployment's concurrency (factor 0.5) until the window rolls (factor 1). */
  readonly throttle: (deployment: string, factor: number) => void;
}

export class BudgetActor implements Actor<BudgetMessage> {
  readonly #context: ActorContext<BudgetMessage>;
  readonly #options: BudgetOptions;
  /** The window start each deployment was last warned (or throttled) in. */
  readonly #warned = new Map<string, number>();
  readonly #throttled = new Map<string, number>();

  constructor(context: ActorContext<BudgetMessage>, options: BudgetOptions) {
    this.#context = context;
    this.#options = options;
  }

  /**
   * Each message's ledger call runs concurrently with the others (each ledger operation is atomic
   * by itself), so admission never queues behind another request's (Redis) round trip; a failed
   * settle, release or record is logged, never a crash.
   */
  receive(message: BudgetMessage): void {
    this.#handle(message).catch((error: unknown) =>
      this.#context.log.error(
        { type: message.type, error: (error as Error).message },
        "spend ledger call failed",
      ),
    );
  }

  async #handle(message: BudgetMessage): Promise<void> {
    const ledger = this.#options.ledger;
    const now = this.#context.clock.now();
    switch (message.type) {
      case "reserve": {
        let decision: BudgetDecision;
        try {
          decision = await this.#reserve(message.deployment, message.budget, message.estimateUsd, now);
        } catch (error) {
          // a ledger that refuses to decide (a cluster store that is unavailable, on_store_unavailable
          // = "closed", or any store failure): the request fails with its error rather than waiting
          // for an answer, and the actor lives on
          decision = { type: "exceeded", error: storeFailure(error) };
        }
        message.replyTo.tell(decision);
        return;
      }
      case "settle":
        await ledger.settle(message.reservationId, Math.max(0, message.actualUsd), now);
        return;
      case "release":
        await ledger.release(message.reservationId);
        return;
      case "record":
        if (message.usd > 0) await ledger.record(message.deployment, message.usd, now);
        return;
      case "report": {
        const rows: SpendRow[] = [];
        for (const deployment of await ledger.listDeployments()) {
          const totals = await ledger.totals(deployment, now);
          rows.push({
            deployment,
            hourUsd: totals.hourUsd,
            dayUsd: totals.dayUsd,
            reservedUsd: totals.reservedUsd,
          });
        }
        message.replyTo.tell(rows);
        return;
      }
      case "window-rolled":
        this.#throttled.delete(message.deployment);
        this.#options.throttle(message.deployment, 1);
        this.#context.log.info({ deployment: message.deployment }, "budget window rolled: throttle lifted");
        return;
    }
  }

  /**
   * One atomic reservation against the budget's limits, exact across nodes sharing the ledger
   * (docs/operations.md, "Cost and budgets"). A refusal rejects under `reject`; under `warn` and
   * `throttle` it only triggers the warning or the throttle, and the request is reserved anyway.
   */
  async #reserve(
    deployment: string,
    budget: BudgetConfig,
    estimateUsd: number,
    now: number,
  ): Promise<BudgetDecision> {
    const ledger = this.#options.ledger;
    const reservation = await ledger.reserveWithin(
      deployment,
      Math.max(0, estimateUsd),
      { maxHourUsd: budget.maxSpendPerHourUsd, maxDayUsd: budget.maxSpendPerDayUsd },
      now,
    );
    if (reservation.granted) return { type: "granted", reservationId: reservation.reservationId };
    const { totals, window, retryAfterMs } = reservation;
    const windowStart = window === "hour" ? utcHourStart(now) : utcDayStart(now);
    switch (budget.onExceeded) {
      case "reject":
        return {
          type: "exceeded",
          error: errors.budgetExceeded(
            `deployment ${deployment}: spend ${usd(window === "hour" ? totals.hourUsd : totals.dayUsd)} plus reserved ${usd(
              totals.reservedUsd,
            )} plus this request's estimate ${usd(estimateUsd)} would pass its ${
              window === "hour" ? "hourly" : "daily"
            } budget of ${usd((window === "hour" ? budget.maxSpendPerHourUsd : budget.maxSpendPerDayUsd) ?? 0)}`,
            retryAfterMs,
          ),
        };
      case "warn":
        if (this.#warned.get(deployment) !== windowStart) {
          this.#warned.set(deployment, windowStart);
          this.#context.log.warn(
            { deployment, window, hourUsd: totals.hourUsd, dayUsd: totals.dayUsd },
            "budget exceeded: serving anyway (on_exceeded = warn)",
          );
        }
        break;
      case "throttle":
        if (!this.#throttled.has(deployment)) {
          this.#throttled.set(deployment, now + retryAfterMs);
          this.#options.throttle(deployment, 0.5);
          this.#context.scheduleOnce(retryAfterMs, { type: "window-rolled", deployment });
          this.#context.log.warn(
            { deployment, window },
            "budget exceeded: concurrency halved until the window rolls",
          );
        }
        break;
    }
    // warn and throttle serve over budget: no limit to hold this reservation to.
    const reservationId = await ledger.reserve(deployment, Math.max(0, estimateUsd), now);
    return { type: "granted", reservationId };
  }
}

/** Dollars with at least 2 decimals and up to 6, so small amounts ($0.006) stay exact: "$1.00", "$0.006". */
export function usd(amount: number): string {
  const [whole, fraction = ""] = amount.toFixed(6).replace(/0+$/, "").split(".");
  return `$${whole}.${fraction.padEnd(2, "0")}`;
}
