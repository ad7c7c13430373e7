// Circuit breaker state per upstream endpoint (provider, base URL, upstream model), the state behind
// CircuitBreakerActor. The remote worker checks it before every upstream attempt and reports every
// attempt's result to it; in a cluster it lives in Redis so all nodes see one circuit per endpoint.

export type CircuitState = "closed" | "open" | "half-open";

/** What the breaker knows about one endpoint. */
export interface CircuitRecord {
  /** closed: calls pass; open: calls fail fast until retryAt; half-open: a few probes may pass. */
  state: CircuitState;
  /** Counted failures (5xx, timeouts, network errors) since the last success. */
  consecutiveFailures: number;
  /** When the circuit last opened, ms since epoch; absent while it has never opened. */
  openedAt?: number;
  /** When an open circuit may go half-open, ms since epoch. */
  retryAt?: number;
  /** Set by an operator: the circuit holds this state until set back to auto (field removed). */
  forced?: "open" | "closed";
  /** Half-open probes currently in flight (at most `halfOpenMaxProbes`). */
  halfOpenInFlight: number;
  /**
   * When the probes in flight are presumed lost (ms since epoch): the last probe's admission plus
   * its lease (the first-byte timeout). Past it a new probe is admitted, so a node that died
   * holding a probe cannot wedge a shared circuit half-open.
   */
  probesExpireAt?: number;
}

/**
 * A copy of the record's known fields, optional ones left out when undefined: what a serialised
 * record reads back as. Every store copies records in and out through it.
 */
export function copyCircuitRecord(record: CircuitRecord): CircuitRecord {
  const copy: CircuitRecord = {
    state: record.state,
    consecutiveFailures: record.consecutiveFailures,
    halfOpenInFlight: record.halfOpenInFlight,
  };
  if (record.openedAt !== undefined) copy.openedAt = record.openedAt;
  if (record.retryAt !== undefined) copy.retryAt = record.retryAt;
  if (record.forced !== undefined) copy.forced = record.forced;
  if (record.probesExpireAt !== undefined) copy.probesExpireAt = record.probesExpireAt;
  return copy;
}

/** Whether two records hold the same state (every field, the optional ones included). */
export function sameCircuitRecord(a: CircuitRecord, b: CircuitRecord): boolean {
  return (
    a.state === b.state &&
    a.consecutiveFailures === b.consecutiveFailures &&
    a.halfOpenInFlight === b.halfOpenInFlight &&
    a.openedAt === b.openedAt &&
    a.retryAt === b.retryAt &&
    a.forced === b.forced &&
    a.probesExpireAt === b.probesExpireAt
  );
}

/** The record of an endpoint the store has never seen: closed, with no failures and no probes. */
export function closedCircuit(): CircuitRecord {
  return { state: "closed", consecutiveFailures: 0, halfOpenInFlight: 0 };
}

/**
 * Endpoint → circuit record. All methods are async so Redis can implement them; records handed in
 * are copied and records handed out are copies.
 */
export interface CircuitStateStore {
  /**
   * CircuitBreakerActor calls this before every upstream attempt and for metrics. Resolves with the
   * endpoint's record, or a fresh closed record (`closedCircuit()`) when the endpoint is unknown.
   */
  get(endpoint: string): Promise<CircuitRecord>;

  /**
   * The admin API calls this (through CircuitBreakerActor) when an operator forces or resets a
   * circuit: replaces the endpoint's record unconditionally.
   */
  set(endpoint: string, record: CircuitRecord): Promise<void>;

  /**
   * CircuitBreakerActor calls this for every state transition (attempt admitted as a probe, success,
   * counted failure, open → half-open) so concurrent nodes never lose an update. Atomic
   * read-modify-write: `fn` gets a copy of the current record (`closedCircuit()` when unknown) and
   * returns the next one, which is stored and resolved. `fn` must be synchronous and pure: a shared
   * implementation may call it again on a conflicting write. If `fn` throws, nothing is stored and
   * the promise rejects with that error.
   */
  update(endpoint: string, fn: (current: CircuitRecord) => CircuitRecord): Promise<CircuitRecord>;

  /** Metrics and the admin API call this to show every known circuit, sorted by endpoint. */
  list(): Promise<Array<[string, CircuitRecord]>>;
}
