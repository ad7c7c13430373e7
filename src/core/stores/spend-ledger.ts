// The spend ledger: what each deployment has spent in the current UTC hour and day, plus the cost
// reserved by requests still running. Budgets check it at admission (spend + reservations against
// maxSpendPerHourUsd / maxSpendPerDayUsd) and settle each request's reservation with its real cost
// when it ends; in a cluster it lives in Redis so a budget holds across nodes.

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
