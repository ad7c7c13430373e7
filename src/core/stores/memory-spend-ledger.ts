// In-process SpendLedger: budgets' spend of a single-node system (and of tests).
// The budget check uses it when no cluster store is configured; the Redis ledger behaves the same
// (both run spend-ledger.contract.ts).

import {
  checkSpendLimits,
  DAY_MS,
  exceededWindow,
  HOUR_MS,
  type SpendLedger,
  type SpendLimits,
  type SpendReservation,
  type SpendTotals,
  untilWindowEnds,
  utcDayStart,
  utcHourStart,
} from "./spend-ledger.js";

interface DeploymentSpend {
  /** UTC hour start → USD recorded in that hour. */
  readonly hours: Map<number, number>;
  /** UTC day start → USD recorded in that day. */
  readonly days: Map<number, number>;
  /** Open reservation id → USD held. */
  readonly reservations: Map<string, number>;
}

export class MemorySpendLedger implements SpendLedger {
  readonly #deployments = new Map<string, DeploymentSpend>();
  /** Open reservation id → its deployment. */
  readonly #reservationOwners = new Map<string, string>();
  #nextReservation = 1;

  async reserve(deployment: string, usd: number, _now: number): Promise<string> {
    checkUsd("usd", usd);
    return this.#reserve(deployment, usd);
  }

  async reserveWithin(
    deployment: string,
    usd: number,
    limits: SpendLimits,
    now: number,
  ): Promise<SpendReservation> {
    checkUsd("usd", usd);
    checkSpendLimits(limits);
    // Check and reserve with no await between them: atomic within the process.
    const totals = this.#totals(deployment, now);
    const window = exceededWindow(totals, usd, limits);
    if (window !== undefined)
      return { granted: false, totals, window, retryAfterMs: untilWindowEnds(window, now) };
    return { granted: true, reservationId: this.#reserve(deployment, usd), totals };
  }

  async settle(reservationId: string, actualUsd: number, now: number): Promise<boolean> {
    checkUsd("actualUsd", actualUsd);
    const deployment = this.#end(reservationId);
    if (deployment === undefined) return false;
    this.#record(deployment, actualUsd, now);
    return true;
  }

  async release(reservationId: string): Promise<boolean> {
    return this.#end(reservationId) !== undefined;
  }

  async record(deployment: string, usd: number, now: number): Promise<void> {
    checkUsd("usd", usd);
    this.#record(deployment, usd, now);
  }

  async totals(deployment: string, now: number): Promise<SpendTotals> {
    return this.#totals(deployment, now);
  }

  async listDeployments(): Promise<string[]> {
    return [...this.#deployments.keys()].sort();
  }

  #reserve(deployment: string, usd: number): string {
    const id = `reservation-${this.#nextReservation++}`;
    this.#spend(deployment).reservations.set(id, usd);
    this.#reservationOwners.set(id, deployment);
    return id;
  }

  #totals(deployment: string, now: number): SpendTotals {
    const spend = this.#deployments.get(deployment);
    if (spend === undefined) return { hourUsd: 0, dayUsd: 0, reservedUsd: 0 };
    let reservedUsd = 0;
    for (const usd of spend.reservations.values()) reservedUsd += usd;
    return {
      hourUsd: spend.hours.get(utcHourStart(now)) ?? 0,
      dayUsd: spend.days.get(utcDayStart(now)) ?? 0,
      reservedUsd,
    };
  }

  #spend(deployment: string): DeploymentSpend {
    let spend = this.#deployments.get(deployment);
    if (spend === undefined) {
      spend = { hours: new Map(), days: new Map(), reservations: new Map() };
      this.#deployments.set(deployment, spend);
    }
    return spend;
  }

  /** Removes an open reservation; resolves its deployment, or undefined when the id is not open. */
  #end(reservationId: string): string | undefined {
    const deployment = this.#reservationOwners.get(reservationId);
    if (deployment === undefined) return undefined;
    this.#reservationOwners.delete(reservationId);
    this.#deployments.get(deployment)?.reservations.delete(reservationId);
    return deployment;
  }

  #record(deployment: string, usd: number, now: number): void {
    const spend = this.#spend(deployment);
    addTo(spend.hours, utcHourStart(now), usd);
    addTo(spend.days, utcDayStart(now), usd);
    // Keep the current and the previous window of each kind; older ones can no longer matter.
    forgetBefore(spend.hours, utcHourStart(now) - HOUR_MS);
    forgetBefore(spend.days, utcDayStart(now) - DAY_MS);
  }
}

function addTo(windows: Map<number, number>, start: number, usd: number): void {
  windows.set(start, (windows.get(start) ?? 0) + usd);
}

function forgetBefore(windows: Map<number, number>, cutoff: number): void {
  for (const start of windows.keys()) if (start < cutoff) windows.delete(start);
}

function checkUsd(field: string, usd: number): void {
  if (!Number.isFinite(usd) || usd < 0)
    throw new RangeError(`${field} must be a finite USD amount >= 0, got ${usd}`);
}
