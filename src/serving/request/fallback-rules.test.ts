// The fallback rules as pure decisions: no clock, no actor, no model.

import { describe, expect, it } from "vitest";
import { errors, type InferenceError } from "../../core/inference-error.js";
import type { DeploymentPolicy } from "./deployment-policy.js";
import { decideOnFailure, type FailureState, fitsRequiredWindow } from "./fallback-rules.js";

const policy = (overrides: Partial<DeploymentPolicy> = {}): DeploymentPolicy => ({
  transport: "remote",
  fallbacks: [],
  fallbackOn: ["rate_limited", "circuit_open", "backpressure", "server_error", "timeout", "network_error"],
  contextWindow: undefined,
  onCapacityExhausted: "reject",
  budget: undefined,
  pricing: undefined,
  ...overrides,
});

const origin = policy({ fallbacks: ["b", "c"] });

function state(
  overrides: Partial<FailureState> = {},
  attempt: Partial<FailureState["attempt"]> = {},
): FailureState {
  return {
    committed: false,
    requested: "a",
    attempt: { deployment: "a", policy: origin, hadTarget: true, isReroute: false, ...attempt },
    origin,
    tried: new Set(["a"]),
    requiredWindow: 0,
    ...overrides,
  };
}

const decide = (error: InferenceError, s: FailureState = state()) => decideOnFailure(error, s);

describe("decideOnFailure", () => {
  it("after commit every failure ends the request", () => {
    for (const error of [errors.serverError("x", 500), errors.networkError("x"), errors.rateLimited("x")]) {
      expect(decide(error, state({ committed: true }))).toEqual({ type: "end" });
    }
  });

  it("a lost replica (unavailable, network_error) is re-routed once to another replica of the same deployment", () => {
    expect(decide(errors.networkError("reset"))).toEqual({ type: "reroute" });
    expect(decide(errors.unavailable("gone"))).toEqual({ type: "reroute" });
    // the re-route itself failing the same way goes on to the fallbacks
    expect(decide(errors.networkError("reset"), state({}, { isReroute: true }))).toEqual({
      type: "fall-back",
      to: "b",
      requiredWindow: 0,
    });
    // an attempt that never reached a replica has none to lose
    expect(decide(errors.networkError("reset"), state({}, { hadTarget: false }))).toMatchObject({
      type: "fall-back",
    });
  });

  it("falls back in order, each fallback once, on the kinds of fallback_on", () => {
    expect(decide(errors.serverError("x", 502))).toEqual({ type: "fall-back", to: "b", requiredWindow: 0 });
    expect(decide(errors.serverError("x", 502), state({ tried: new Set(["a", "b"]) }))).toEqual({
      type: "fall-back",
      to: "c",
      requiredWindow: 0,
    });
    expect(decide(errors.serverError("x", 502), state({ tried: new Set(["a", "b", "c"]) }))).toEqual({
      type: "end",
    });
  });

  it("never falls back on a bad request or a content filter, whatever fallback_on says", () => {
    const permissive = policy({ fallbacks: ["b"], fallbackOn: ["bad_request", "content_filtered"] });
    const s = state({ origin: permissive }, { policy: permissive });
    expect(decide(errors.badRequest("x"), s)).toEqual({ type: "end" });
    expect(decide(errors.contentFiltered("x"), s)).toEqual({ type: "end" });
  });

  it("a kind outside fallback_on ends the request; listing it falls back", () => {
    expect(decide(errors.budgetExceeded("out of credit", 60_000))).toEqual({ type: "end" });
    const listed = policy({ fallbacks: ["b"], fallbackOn: ["budget_exceeded"] });
    expect(decide(errors.budgetExceeded("x", 1), state({ origin: listed }))).toMatchObject({ to: "b" });
  });

  it("backpressure falls back when the failing deployment queues by falling back", () => {
    const strict = policy({ fallbacks: ["b"], fallbackOn: [] });
    const current = policy({ onCapacityExhausted: "fallback" });
    expect(decide(errors.backpressure("full"), state({ origin: strict }, { policy: strict }))).toEqual({
      type: "end",
    });
    expect(decide(errors.backpressure("full"), state({ origin: strict }, { policy: current }))).toMatchObject(
      {
        to: "b",
      },
    );
  });

  it("a fallback candidate that is not there moves on to the next; the requested deployment's absence ends", () => {
    const strict = policy({ fallbacks: ["b", "c"], fallbackOn: [] });
    const atB = state({ origin: strict, tried: new Set(["a", "b"]) }, { deployment: "b", hadTarget: false });
    expect(decide(errors.notFound("no b"), atB)).toEqual({ type: "fall-back", to: "c", requiredWindow: 0 });
    expect(decide(errors.notFound("no a"), state({ origin: strict }, { hadTarget: false }))).toEqual({
      type: "end",
    });
  });

  it("context length: only to a larger window, the window to beat carried on; no windows known ends", () => {
    const windowed = policy({ fallbacks: ["b"], fallbackOn: [], contextWindow: 8192 });
    expect(
      decide(errors.contextLengthExceeded("long"), state({ origin: windowed }, { policy: windowed })),
    ).toEqual({
      type: "fall-back",
      to: "b",
      requiredWindow: 8192,
    });
    const unknown = policy({ fallbacks: ["b"], fallbackOn: [] });
    expect(
      decide(errors.contextLengthExceeded("long"), state({ origin: unknown }, { policy: unknown })),
    ).toEqual({
      type: "end",
    });
    // a later candidate keeps the largest window seen
    expect(
      decide(
        errors.contextLengthExceeded("long"),
        state({ origin: windowed, requiredWindow: 16_384 }, { policy: policy({ contextWindow: 4096 }) }),
      ),
    ).toMatchObject({ requiredWindow: 16_384 });
  });
});

describe("fitsRequiredWindow", () => {
  it("any candidate fits when no window is required; else only a larger one", () => {
    expect(fitsRequiredWindow(policy(), 0)).toBe(true);
    expect(fitsRequiredWindow(policy({ contextWindow: 8192 }), 8192)).toBe(false);
    expect(fitsRequiredWindow(policy({ contextWindow: 16_384 }), 8192)).toBe(true);
    expect(fitsRequiredWindow(undefined, 8192)).toBe(false);
  });
});
