// The circuit breaker's transitions as pure functions over a CircuitRecord (docs/providers.md), so the
// CircuitBreakerActor only stores and forwards. Closed → open after `failureThreshold` consecutive
// counted failures; open fails fast; after `openDurationMs` half-open admits up to
// `halfOpenMaxProbes` probes at once: the first success closes, any failure reopens; a probe
// whose result never came within its lease (its node died) no longer holds a place.
// A forced state (operator) holds until set back to auto.

import type { CircuitRecord } from "../core/stores/index.js";
import type { CircuitSettings } from "./remote-config.js";

export type CircuitCheck =
  | { readonly allowed: true; readonly probe: boolean }
  | { readonly allowed: false; readonly openedAt: number; readonly retryAt: number };

/** What an attempt's result means for the circuit: 5xx/timeout/network count; 429/4xx/cancel are neutral. */
export type AttemptOutcome = "success" | "failure" | "neutral";

/**
 * Whether an attempt may go upstream now. `probeLeaseMs` (the first-byte timeout) bounds how long
 * an admitted probe holds its place: past it, its result is presumed lost.
 */
export function checkCircuit(
  record: CircuitRecord,
  settings: CircuitSettings,
  now: number,
  probeLeaseMs = Number.POSITIVE_INFINITY,
): [CircuitRecord, CircuitCheck] {
  const leased = (next: CircuitRecord): CircuitRecord =>
    Number.isFinite(probeLeaseMs) ? { ...next, probesExpireAt: now + probeLeaseMs } : next;
  if (record.forced === "closed") return [record, { allowed: true, probe: false }];
  if (record.forced === "open") {
    // held until an operator sets it back to auto: Retry-After hints at one open period
    const openedAt = record.openedAt ?? now;
    return [record, { allowed: false, openedAt, retryAt: now + settings.openDurationMs }];
  }
  switch (record.state) {
    case "closed":
      return [record, { allowed: true, probe: false }];
    case "open": {
      const retryAt = record.retryAt ?? now;
      if (now < retryAt) return [record, { allowed: false, openedAt: record.openedAt ?? now, retryAt }];
      return [leased({ ...record, state: "half-open", halfOpenInFlight: 1 }), { allowed: true, probe: true }];
    }
    case "half-open":
      if (record.halfOpenInFlight < settings.halfOpenMaxProbes) {
        return [
          leased({ ...record, halfOpenInFlight: record.halfOpenInFlight + 1 }),
          { allowed: true, probe: true },
        ];
      }
      if (record.probesExpireAt !== undefined && now >= record.probesExpireAt) {
        // every probe in flight outlived its lease: presumed lost, this attempt probes instead
        return [leased({ ...record, halfOpenInFlight: 1 }), { allowed: true, probe: true }];
      }
      return [record, { allowed: false, openedAt: record.openedAt ?? now, retryAt: record.retryAt ?? now }];
  }
}

export function recordAttempt(
  record: CircuitRecord,
  settings: CircuitSettings,
  outcome: AttemptOutcome,
  probe: boolean,
  now: number,
): CircuitRecord {
  const released = probe ? { ...record, halfOpenInFlight: Math.max(0, record.halfOpenInFlight - 1) } : record;
  if (record.forced !== undefined) {
    return outcome === "failure"
      ? { ...released, consecutiveFailures: released.consecutiveFailures + 1 }
      : outcome === "success"
        ? { ...released, consecutiveFailures: 0 }
        : released;
  }
  const { probesExpireAt: _lease, ...withoutLease } = released;
  const open = (): CircuitRecord => ({
    ...withoutLease,
    state: "open",
    consecutiveFailures: released.consecutiveFailures + 1,
    openedAt: now,
    retryAt: now + settings.openDurationMs,
    halfOpenInFlight: 0,
  });
  switch (outcome) {
    case "neutral":
      return released;
    case "success":
      // only a probe closes a half-open circuit; a late success of an attempt started before the
      // circuit opened changes nothing
      if (released.state === "closed") return { ...released, consecutiveFailures: 0 };
      if (released.state === "half-open" && probe)
        return { state: "closed", consecutiveFailures: 0, halfOpenInFlight: 0 };
      return released;
    case "failure":
      if (released.state === "half-open") return probe ? open() : released;
      if (released.state === "open") return released; // a late failure of an attempt started before opening
      return released.consecutiveFailures + 1 >= settings.failureThreshold
        ? open()
        : { ...released, consecutiveFailures: released.consecutiveFailures + 1 };
  }
}

/** Operator override: `open` or `closed` holds until `auto`. */
export function forceCircuit(
  record: CircuitRecord,
  state: "open" | "closed" | "auto",
  now: number,
): CircuitRecord {
  if (state === "auto") {
    const { forced: _forced, ...rest } = record;
    return rest.state === "open" && rest.retryAt === undefined ? { ...rest, retryAt: now } : rest;
  }
  return { ...record, forced: state, ...(state === "open" ? { openedAt: now } : {}) };
}
