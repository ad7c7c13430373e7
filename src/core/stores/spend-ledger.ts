// The spend ledger: what each deployment has spent in the current UTC hour and day, plus the cost
// reserved by requests still running. Budgets admit a request with one atomic reservation against
// maxSpendPerHourUsd / maxSpendPerDayUsd (spend + open reservations + estimate) and settle it with
// the real cost when it ends; in a cluster it lives in Redis so a budget is exact across nodes.

/** One UTC hour in ms. */
export const HOUR_MS = 3_600_000;
/** One UTC day in ms (UTC days have no leap seconds in epoch time). */
export const DAY_MS = 24 * HOUR_MS;

/** The start (ms since epoch) of the UTC hour containing `now`. */
export function utcHourStart(now: number): number {
  return Math.floor(now / HOUR_MS) * HOUR_MS;
}

/** The start (ms since epoch) of the UTC day containing `now`. */
export function utcDayStart(now: number): number {
  return Math.floor(now / DAY_MS) * DAY_MS;
}

/** A deployment's spend as budgets see it at one instant. */
export interface SpendTotals {
  /** Spend recorded in the UTC hour containing `now`, reservations not included. */
  hourUsd: number;
  /** Spend recorded in the UTC day containing `now`, reservations not included. */
  dayUsd: number;
  /** The sum of the deployment's open reservations, whenever they were made. */
  reservedUsd: number;
}

/** The budget limits `reserveWithin` checks; an absent limit is not checked. Finite USD, at least 0. */
export interface SpendLimits {
  /** The most the UTC hour's spend plus open reservations may reach. */
  readonly maxHourUsd?: number | undefined;
  /** The most the UTC day's spend plus open reservations may reach. */
  readonly maxDayUsd?: number | undefined;
}

/** The budget window a refused reservation would have passed. */
export type SpendWindow = "hour" | "day";

/**
 * The answer of `reserveWithin`. `totals` are the deployment's as the decision saw them, before
 * this reservation (a refusal reserves nothing).
 */
export type SpendReservation =
  | { readonly granted: true; readonly reservationId: string; readonly totals: SpendTotals }
  | {
      readonly granted: false;
      readonly totals: SpendTotals;
      /** The first limit passed, hour checked before day. */
      readonly window: SpendWindow;
      /** Until that window ends (`now` to the next UTC hour or day). */
      readonly retryAfterMs: number;
    };

/**
 * Per-deployment spend over fixed UTC hour and day windows, plus open reservations. All methods are
 * async so Redis can implement them. Amounts are USD, finite and at least 0 (a RangeError rejects
 * anything else). An implementation may forget a window once it ended before the previous window
 * of the latest write; budgets only ask about the windows containing the current time.
 */
export interface SpendLedger {
  /**
   * The budget check calls this when it admits a request: holds `usd` (the request's estimated cost)
   * against the deployment until the request ends. Resolves with an opaque id, unique in the store.
   */
  reserve(deployment: string, usd: number, now: number): Promise<string>;

  /**
   * The budget check calls this when it admits a request under a budget: as one atomic step, holds
   * `usd` against the deployment only if, for each limit given, the window's spend plus open
   * reservations plus `usd` stays at or under it (`hourUsd + reservedUsd + usd <= maxHourUsd`,
   * likewise for the day). Concurrent calls, from any node sharing the store, never admit past a
   * limit together; only a settle above its estimate can take spend past one. A RangeError
   * rejects an amount or limit that is negative or not finite.
   */
  reserveWithin(deployment: string, usd: number, limits: SpendLimits, now: number): Promise<SpendReservation>;

  /**
   * The budget check calls this when a request that held a reservation finishes (or is cancelled
   * after seeing usage): removes the reservation and records `actualUsd` in the hour and day
   * containing `now`. Resolves false and records nothing for an unknown (or already ended) id.
   */
  settle(reservationId: string, actualUsd: number, now: number): Promise<boolean>;

  /**
   * The budget check calls this when a request fails before it cost anything: removes the
   * reservation without recording spend. Resolves false for an unknown (or already ended) id.
   */
  release(reservationId: string): Promise<boolean>;

  /**
   * Cost tracking calls this for spend that had no reservation (e.g. a request admitted while no
   * budget was set): records `usd` in the hour and day containing `now`.
   */
  record(deployment: string, usd: number, now: number): Promise<void>;

  /** The budget check calls this at admission, and metrics to export spend. */
  totals(deployment: string, now: number): Promise<SpendTotals>;

  /**
   * Metrics and the admin API call this: every deployment that has recorded spend or made a
   * reservation, sorted by name.
   */
  listDeployments(): Promise<string[]>;
}

/**
 * The admission rule every SpendLedger applies in `reserveWithin` (the Redis ledger in Lua, in the
 * same order of additions): the first window whose limit `usd` would pass, or undefined when it fits.
 */
export function exceededWindow(
  totals: SpendTotals,
  usd: number,
  limits: SpendLimits,
): SpendWindow | undefined {
  if (limits.maxHourUsd !== undefined && totals.hourUsd + totals.reservedUsd + usd > limits.maxHourUsd)
    return "hour";
  if (limits.maxDayUsd !== undefined && totals.dayUsd + totals.reservedUsd + usd > limits.maxDayUsd)
    return "day";
  return undefined;
}

/** How long from `now` until the UTC `window` containing it ends: a refusal's retry-after. */
export function untilWindowEnds(window: SpendWindow, now: number): number {
  return window === "hour" ? utcHourStart(now) + HOUR_MS - now : utcDayStart(now) + DAY_MS - now;
}

/** Every SpendLedger checks `reserveWithin`'s limits with this before it touches the store. */
export function checkSpendLimits(limits: SpendLimits): void {
  for (const [field, usd] of [
    ["maxHourUsd", limits.maxHourUsd],
    ["maxDayUsd", limits.maxDayUsd],
  ] as const)
    if (usd !== undefined && (!Number.isFinite(usd) || usd < 0))
      throw new RangeError(`${field} must be a finite USD amount >= 0, got ${usd}`);
}
