// The circuit breaker's transitions as pure functions (docs/providers.md): closed → open after
// failure_threshold consecutive counted failures, fail fast while open, half-open probe limits,
// late results of attempts started in another state, and operator-forced states.

import { describe, expect, it } from "vitest";
import { type CircuitRecord, closedCircuit } from "../core/stores/index.js";
import {
  type AttemptOutcome,
  type CircuitCheck,
  checkCircuit,
  forceCircuit,
  recordAttempt,
} from "./circuit-breaker.js";
import type { CircuitSettings } from "./remote-config.js";

const settings: CircuitSettings = { failureThreshold: 3, openDurationMs: 10_000, halfOpenMaxProbes: 1 };
const T0 = 1_000_000;

/** A test-side circuit: the record threaded through check and record, as the actor does. */
class Circuit {
  record: CircuitRecord;
  constructor(
    readonly circuitSettings: CircuitSettings = settings,
    record: CircuitRecord = closedCircuit(),
  ) {
    this.record = record;
  }
  check(now: number): CircuitCheck {
    const [next, check] = checkCircuit(this.record, this.circuitSettings, now);
    this.record = next;
    return check;
  }
  result(outcome: AttemptOutcome, now: number, probe = false): CircuitRecord {
    this.record = recordAttempt(this.record, this.circuitSettings, outcome, probe, now);
    return this.record;
  }
  /** One whole attempt: check, then record its outcome (as a probe when admitted as one). */
  attempt(outcome: AttemptOutcome, now: number): CircuitCheck {
    const check = this.check(now);
    if (check.allowed) this.result(outcome, now, check.probe);
    return check;
  }
  force(state: "open" | "closed" | "auto", now: number): CircuitRecord {
    this.record = forceCircuit(this.record, state, now);
    return this.record;
  }
}

function opened(now = T0): Circuit {
  const circuit = new Circuit();
  for (let i = 0; i < settings.failureThreshold; i++) circuit.attempt("failure", now);
  return circuit;
}

describe("closed", () => {
  it("admits attempts, not as probes", () => {
    expect(new Circuit().check(T0)).toEqual({ allowed: true, probe: false });
  });

  it("opens after failure_threshold consecutive failures", () => {
    const circuit = new Circuit();
    circuit.attempt("failure", T0);
    circuit.attempt("failure", T0);
    expect(circuit.record.state).toBe("closed");
    expect(circuit.record.consecutiveFailures).toBe(2);
    circuit.attempt("failure", T0 + 5);
    expect(circuit.record).toEqual({
      state: "open",
      consecutiveFailures: 3,
      openedAt: T0 + 5,
      retryAt: T0 + 5 + 10_000,
      halfOpenInFlight: 0,
    });
  });

  it("a success resets the count", () => {
    const circuit = new Circuit();
    circuit.attempt("failure", T0);
    circuit.attempt("failure", T0);
    circuit.attempt("success", T0);
    expect(circuit.record.consecutiveFailures).toBe(0);
    circuit.attempt("failure", T0);
    circuit.attempt("failure", T0);
    expect(circuit.record.state).toBe("closed");
  });

  it("neutral outcomes (429, 4xx, cancels) count neither way", () => {
    const circuit = new Circuit();
    circuit.attempt("failure", T0);
    circuit.attempt("failure", T0);
    for (let i = 0; i < 10; i++) circuit.attempt("neutral", T0);
    expect(circuit.record.consecutiveFailures).toBe(2);
    expect(circuit.record.state).toBe("closed");
    circuit.attempt("failure", T0);
    expect(circuit.record.state).toBe("open");
  });

  it("a threshold of 1 opens on the first failure", () => {
    const circuit = new Circuit({ ...settings, failureThreshold: 1 });
    circuit.attempt("failure", T0);
    expect(circuit.record.state).toBe("open");
  });
});

describe("open", () => {
  it("fails fast until open_duration_ms has passed, with openedAt and retryAt", () => {
    const circuit = opened();
    expect(circuit.check(T0)).toEqual({ allowed: false, openedAt: T0, retryAt: T0 + 10_000 });
    expect(circuit.check(T0 + 9_999)).toEqual({ allowed: false, openedAt: T0, retryAt: T0 + 10_000 });
    expect(circuit.record.state).toBe("open");
  });

  it("after open_duration_ms the next check goes half-open and is a probe", () => {
    const circuit = opened();
    expect(circuit.check(T0 + 10_000)).toEqual({ allowed: true, probe: true });
    expect(circuit.record.state).toBe("half-open");
    expect(circuit.record.halfOpenInFlight).toBe(1);
  });

  it("a late failure of an attempt started before opening does not extend the open time", () => {
    const circuit = opened();
    circuit.result("failure", T0 + 5_000);
    expect(circuit.record.retryAt).toBe(T0 + 10_000);
    expect(circuit.record.state).toBe("open");
  });

  it("a late neutral result changes nothing", () => {
    const circuit = opened();
    const before = circuit.record;
    expect(circuit.result("neutral", T0 + 1)).toEqual(before);
  });

  // A success of an attempt that started while the circuit was still closed and ends after it opened
  // says nothing about the endpoint now: only a half-open probe may close the circuit.
  it("a late success of an attempt started before opening leaves the circuit open", () => {
    const circuit = opened();
    const before = circuit.record;
    circuit.result("success", T0 + 100);
    expect(circuit.record).toEqual(before);
    expect(circuit.check(T0 + 100)).toEqual({ allowed: false, openedAt: T0, retryAt: T0 + 10_000 });
    expect(circuit.check(T0 + 10_000)).toEqual({ allowed: true, probe: true });
  });
});

describe("half-open", () => {
  it("admits at most half_open_max_probes probes at once", () => {
    const circuit = new Circuit({ ...settings, halfOpenMaxProbes: 2 });
    for (let i = 0; i < 3; i++) circuit.attempt("failure", T0);
    const at = T0 + 10_000;
    expect(circuit.check(at)).toEqual({ allowed: true, probe: true });
    expect(circuit.check(at)).toEqual({ allowed: true, probe: true });
    expect(circuit.check(at)).toEqual({ allowed: false, openedAt: T0, retryAt: at });
    expect(circuit.record.halfOpenInFlight).toBe(2);
  });

  it("a probe that ends neutral frees its slot for another probe", () => {
    const circuit = opened();
    const at = T0 + 10_000;
    expect(circuit.check(at)).toEqual({ allowed: true, probe: true });
    expect(circuit.check(at).allowed).toBe(false);
    circuit.result("neutral", at, true);
    expect(circuit.record).toMatchObject({ state: "half-open", halfOpenInFlight: 0 });
    expect(circuit.check(at)).toEqual({ allowed: true, probe: true });
  });

  it("the first successful probe closes it", () => {
    const circuit = opened();
    circuit.check(T0 + 10_000);
    expect(circuit.result("success", T0 + 10_500, true)).toEqual(closedCircuit());
    expect(circuit.check(T0 + 10_501)).toEqual({ allowed: true, probe: false });
  });

  it("a failed probe reopens it for another open_duration_ms", () => {
    const circuit = opened();
    circuit.check(T0 + 10_000);
    circuit.result("failure", T0 + 10_200, true);
    expect(circuit.record).toMatchObject({
      state: "open",
      openedAt: T0 + 10_200,
      retryAt: T0 + 20_200,
      halfOpenInFlight: 0,
    });
    expect(circuit.check(T0 + 20_199).allowed).toBe(false);
    expect(circuit.check(T0 + 20_200)).toEqual({ allowed: true, probe: true });
  });

  it("with two probes in flight, one failed probe reopens it", () => {
    const circuit = new Circuit({ ...settings, halfOpenMaxProbes: 2 });
    for (let i = 0; i < 3; i++) circuit.attempt("failure", T0);
    const at = T0 + 10_000;
    circuit.check(at);
    circuit.check(at);
    circuit.result("failure", at + 1, true);
    expect(circuit.record.state).toBe("open");
    expect(circuit.record.halfOpenInFlight).toBe(0);
  });

  it("a late success of a non-probe attempt does not close it", () => {
    const circuit = opened();
    circuit.check(T0 + 10_000);
    circuit.result("success", T0 + 10_001, false);
    expect(circuit.record.state).toBe("half-open");
  });

  it("a late failure of a non-probe attempt does not reopen it", () => {
    const circuit = opened();
    circuit.check(T0 + 10_000);
    circuit.result("failure", T0 + 10_001, false);
    expect(circuit.record).toMatchObject({ state: "half-open", halfOpenInFlight: 1 });
  });

  it("a probe result arriving after the circuit closed is harmless", () => {
    const circuit = new Circuit({ ...settings, halfOpenMaxProbes: 2 });
    for (let i = 0; i < 3; i++) circuit.attempt("failure", T0);
    const at = T0 + 10_000;
    circuit.check(at);
    circuit.check(at);
    circuit.result("success", at + 1, true);
    expect(circuit.record.state).toBe("closed");
    circuit.result("success", at + 2, true);
    expect(circuit.record).toEqual(closedCircuit());
  });
});

describe("forced states", () => {
  it("forced open fails fast whatever the record, until auto", () => {
    const circuit = new Circuit();
    circuit.force("open", T0);
    expect(circuit.record.forced).toBe("open");
    const check = circuit.check(T0 + 1_000_000);
    expect(check.allowed).toBe(false);
    if (!check.allowed) expect(check.openedAt).toBe(T0);
    circuit.force("auto", T0 + 2_000_000);
    expect(circuit.record.forced).toBeUndefined();
    expect(circuit.check(T0 + 2_000_000)).toEqual({ allowed: true, probe: false });
  });

  // held until auto, so there is no real retry time: the check hints at one open_duration_ms from
  // now (the client's Retry-After), never at "forever"
  it("forced open answers with a retryAt of one open_duration_ms from now", () => {
    const circuit = new Circuit();
    circuit.force("open", T0);
    expect(circuit.check(T0 + 1)).toEqual({ allowed: false, openedAt: T0, retryAt: T0 + 1 + 10_000 });
    expect(circuit.check(T0 + 500_000)).toEqual({ allowed: false, openedAt: T0, retryAt: T0 + 510_000 });
    const open = opened();
    open.force("open", T0 + 20_000);
    expect(open.check(T0 + 20_000)).toEqual({ allowed: false, openedAt: T0 + 20_000, retryAt: T0 + 30_000 });
  });

  it("forced open does not go half-open after open_duration_ms", () => {
    const circuit = opened();
    circuit.force("open", T0 + 1);
    expect(circuit.check(T0 + 10 * settings.openDurationMs).allowed).toBe(false);
    expect(circuit.record.state).toBe("open");
  });

  it("forced closed admits everything, without probes, and failures do not open it", () => {
    const circuit = new Circuit();
    circuit.force("closed", T0);
    for (let i = 0; i < 10; i++)
      expect(circuit.attempt("failure", T0)).toEqual({ allowed: true, probe: false });
    expect(circuit.record.state).toBe("closed");
    expect(circuit.record.forced).toBe("closed");
    expect(circuit.record.consecutiveFailures).toBe(10);
  });

  it("forced closed overrides an open circuit", () => {
    const circuit = opened();
    circuit.force("closed", T0 + 1);
    expect(circuit.check(T0 + 2)).toEqual({ allowed: true, probe: false });
  });

  it("successes while forced reset the count but keep the forced state", () => {
    const circuit = new Circuit();
    circuit.force("open", T0);
    circuit.result("failure", T0);
    expect(circuit.record.consecutiveFailures).toBe(1);
    circuit.result("success", T0);
    expect(circuit.record).toMatchObject({ forced: "open", consecutiveFailures: 0, state: "closed" });
  });

  it("auto after a forced open of an open circuit resumes its timer (retryAt kept)", () => {
    const circuit = opened();
    circuit.force("open", T0 + 1);
    circuit.force("auto", T0 + 2);
    expect(circuit.record.state).toBe("open");
    expect(circuit.check(T0 + 9_999).allowed).toBe(false);
    expect(circuit.check(T0 + 10_000)).toEqual({ allowed: true, probe: true });
  });

  it("auto on an open record without retryAt makes it probe-able at once", () => {
    const circuit = new Circuit(settings, {
      state: "open",
      consecutiveFailures: 3,
      halfOpenInFlight: 0,
      forced: "open",
    });
    circuit.force("auto", T0);
    expect(circuit.record.retryAt).toBe(T0);
    expect(circuit.check(T0)).toEqual({ allowed: true, probe: true });
  });

  it("forced closed then auto returns to the underlying closed state", () => {
    const circuit = new Circuit();
    circuit.force("closed", T0);
    circuit.force("auto", T0);
    expect(circuit.record).toEqual(closedCircuit());
  });

  it("forcing does not mutate the record it was given", () => {
    const record = closedCircuit();
    forceCircuit(record, "open", T0);
    expect(record).toEqual(closedCircuit());
  });
});

describe("half-open probes hold their place for a lease only", () => {
  const opened = (): CircuitRecord => ({
    state: "open",
    consecutiveFailures: 3,
    openedAt: T0,
    retryAt: T0 + 10_000,
    halfOpenInFlight: 0,
  });

  it("a probe whose result never comes (its node died) frees its place after the lease", () => {
    const lease = 60_000;
    const [probing, first] = checkCircuit(opened(), settings, T0 + 10_000, lease);
    expect(first).toEqual({ allowed: true, probe: true });
    expect(probing.probesExpireAt).toBe(T0 + 70_000);
    // within the lease the one probe place is taken
    const [, during] = checkCircuit(probing, settings, T0 + 69_999, lease);
    expect(during.allowed).toBe(false);
    // past it a new probe goes, and its success closes the circuit
    const [again, after] = checkCircuit(probing, settings, T0 + 70_000, lease);
    expect(after).toEqual({ allowed: true, probe: true });
    expect(again).toMatchObject({ state: "half-open", halfOpenInFlight: 1, probesExpireAt: T0 + 130_000 });
    expect(recordAttempt(again, settings, "success", true, T0 + 70_001)).toEqual(closedCircuit());
  });

  it("a failed probe reopens without a stale lease", () => {
    const [probing] = checkCircuit(opened(), settings, T0 + 10_000, 5_000);
    const reopened = recordAttempt(probing, settings, "failure", true, T0 + 10_500);
    expect(reopened.state).toBe("open");
    expect(reopened.probesExpireAt).toBeUndefined();
  });

  it("without a lease a lost probe holds its place (the single-process behaviour before leases)", () => {
    const [probing] = checkCircuit(opened(), settings, T0 + 10_000);
    expect(probing.probesExpireAt).toBeUndefined();
    expect(checkCircuit(probing, settings, T0 + 10_000_000)[1].allowed).toBe(false);
  });
});
