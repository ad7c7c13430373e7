// CircuitBreakerActor: one for the whole system, keeping a circuit per endpoint (provider, base
// URL, upstream model) in the CircuitStateStore, shared by every replica and deployment that uses
// the endpoint. Workers `check` before every attempt and `record` every attempt's outcome.

import type { Actor, ActorContext, ActorRef } from "../actor/index.js";
import { type InferenceError, storeFailure } from "../core/inference-error.js";
import { type CircuitRecord, type CircuitStateStore, sameCircuitRecord } from "../core/stores/index.js";
import {
  type AttemptOutcome,
  type CircuitCheck,
  checkCircuit,
  forceCircuit,
  recordAttempt,
} from "./circuit-breaker.js";
import type { CircuitSettings } from "./remote-config.js";

/**
 * The check's answer. `successChangesNothing`: the record as this check left it would not change
 * for a success that is no probe, so the worker need not report one (no store call for a healthy
 * endpoint's results).
 */
export type CircuitCheckReply =
  | (CircuitCheck & { readonly successChangesNothing?: boolean })
  | { readonly allowed: false; readonly error: InferenceError };

export type CircuitMessage =
  | {
      readonly type: "check";
      readonly endpoint: string;
      readonly settings: CircuitSettings;
      /** How long an admitted probe holds its half-open place (the first-byte timeout). */
      readonly probeLeaseMs?: number;
      readonly replyTo: ActorRef<CircuitCheckReply>;
    }
  | {
      readonly type: "record";
      readonly endpoint: string;
      readonly settings: CircuitSettings;
      readonly outcome: AttemptOutcome;
      readonly probe: boolean;
      /** Told once the result is stored (or could not be). */
      readonly recorded?: ActorRef<true>;
    }
  | {
      readonly type: "force";
      readonly endpoint: string;
      readonly state: "open" | "closed" | "auto";
      readonly replyTo?: ActorRef<CircuitRecord>;
    }
  | { readonly type: "get"; readonly endpoint: string; readonly replyTo: ActorRef<CircuitRecord> };

export interface CircuitObserver {
  /** Called when an endpoint's effective state changes (for `rakka_circuit_state`). */
  stateChanged(endpoint: string, state: "closed" | "open" | "half-open"): void;
}

function effectiveState(record: CircuitRecord): "closed" | "open" | "half-open" {
  return record.forced ?? record.state;
}

export class CircuitBreakerActor implements Actor<CircuitMessage> {
  readonly #context: ActorContext<CircuitMessage>;
  readonly #store: CircuitStateStore;
  readonly #observer: CircuitObserver;

  constructor(context: ActorContext<CircuitMessage>, store: CircuitStateStore, observer: CircuitObserver) {
    this.#context = context;
    this.#store = store;
    this.#observer = observer;
  }

  /**
   * Each message's store call runs concurrently with the others: every update is an atomic
   * read-modify-write of its endpoint's record (and a store orders one node's updates per
   * endpoint), so the actor never holds its mailbox while a (Redis) round trip is in flight.
   */
  receive(message: CircuitMessage): void {
    this.#handle(message).catch((error: unknown) =>
      this.#context.log.error(
        { type: message.type, endpoint: message.endpoint, error: (error as Error).message },
        "circuit store call failed",
      ),
    );
  }

  async #handle(message: CircuitMessage): Promise<void> {
    const now = this.#context.clock.now();
    switch (message.type) {
      case "check": {
        let check: CircuitCheckReply = { allowed: true, probe: false };
        try {
          await this.#update(message.endpoint, (current) => {
            const [next, result] = checkCircuit(current, message.settings, now, message.probeLeaseMs);
            const afterSuccess = recordAttempt(next, message.settings, "success", false, now);
            check = { ...result, successChangesNothing: sameCircuitRecord(afterSuccess, next) };
            return next;
          });
        } catch (error) {
          // the worker fails the request with it rather than waiting for an answer that never comes
          check = { allowed: false, error: storeFailure(error) };
        }
        message.replyTo.tell(check);
        return;
      }
      case "record":
        try {
          await this.#update(message.endpoint, (current) =>
            recordAttempt(current, message.settings, message.outcome, message.probe, now),
          );
        } catch (error) {
          // a refusing store loses this one result; the circuit is decided by the next ones
          this.#context.log.debug(
            { endpoint: message.endpoint, error: (error as Error).message },
            "circuit result not recorded",
          );
        } finally {
          message.recorded?.tell(true);
        }
        return;
      case "force": {
        const record = await this.#update(message.endpoint, (current) =>
          forceCircuit(current, message.state, now),
        );
        message.replyTo?.tell(record);
        return;
      }
      case "get":
        message.replyTo.tell(await this.#store.get(message.endpoint));
        return;
    }
  }

  async #update(endpoint: string, fn: (current: CircuitRecord) => CircuitRecord): Promise<CircuitRecord> {
    let before: "closed" | "open" | "half-open" = "closed";
    const record = await this.#store.update(endpoint, (current) => {
      before = effectiveState(current);
      return fn(current);
    });
    const after = effectiveState(record);
    if (after !== before) {
      this.#context.log.info({ endpoint, from: before, to: after }, "circuit state changed");
      this.#observer.stateChanged(endpoint, after);
    }
    return record;
  }
}
