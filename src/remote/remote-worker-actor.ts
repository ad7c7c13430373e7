// RemoteWorkerActor: one of a remote replica's pool of max_concurrent workers; runs one request at
// a time. Each attempt: a rate-limit permit (requests and estimated tokens), a circuit check, the
// upstream call with its timeouts, the outcome recorded; then retry (before commit only, within
// the deadline, with backoff on the injected clock) or end the request with one typed error.

import type { Actor, ActorContext, ActorRef } from "../actor/index.js";
import type { DeploymentSpec } from "../core/deployment.js";
import { countsAsCircuitFailure, errors, InferenceError } from "../core/inference-error.js";
import { sleepOn } from "../core/runner-clock.js";
import { commitsResponse, type TokenChunk } from "../core/token-chunk.js";
import type { EngineObserver, EngineRequest } from "../protocol/engine-messages.js";
import type { AttemptOutcome } from "./circuit-breaker.js";
import type { CircuitCheckReply, CircuitMessage } from "./circuit-breaker-actor.js";
import type { ProviderAdapter } from "./provider.js";
import type { Permit, RateLimiterMessage } from "./rate-limiter-actor.js";
import type { SessionLease, SessionMessage } from "./remote-session-actor.js";
import { decideRetry } from "./retry-policy.js";
import { type AttemptResult, callUpstream } from "./upstream-call.js";

export type RemoteWorkerMessage = { readonly type: "run"; readonly request: EngineRequest };

export interface RemoteWorkerOptions {
  readonly deployment: DeploymentSpec;
  readonly adapter: ProviderAdapter;
  /** (provider, key hash, model): the rate-limit bucket key. */
  readonly limiterKey: string;
  readonly session: ActorRef<SessionMessage>;
  readonly rateLimiter: ActorRef<RateLimiterMessage>;
  readonly circuitBreaker: ActorRef<CircuitMessage>;
  readonly engine: ActorRef<{ readonly type: "request-finished"; readonly requestId: string }>;
  readonly observer: EngineObserver;
  readonly random: () => number;
}

const ASK_TIMEOUT_MS = 30_000;

/** An upstream message that quotes our key must not reach the client or the logs. */
export function redactKey(error: InferenceError, apiKey: string | undefined): InferenceError {
  if (apiKey === undefined || apiKey.length < 4 || !error.message.includes(apiKey)) return error;
  return new InferenceError(error.details, error.message.split(apiKey).join("[redacted]"));
}

function outcomeOf(result: AttemptResult): AttemptOutcome {
  if (result.type === "completed") return "success";
  if (result.type === "cancelled") return "neutral";
  return countsAsCircuitFailure(result.error) ? "failure" : "neutral";
}

export class RemoteWorkerActor implements Actor<RemoteWorkerMessage> {
  readonly #context: ActorContext<RemoteWorkerMessage>;
  readonly #options: RemoteWorkerOptions;

  constructor(context: ActorContext<RemoteWorkerMessage>, options: RemoteWorkerOptions) {
    this.#context = context;
    this.#options = options;
  }

  async receive(message: RemoteWorkerMessage): Promise<void> {
    const request = message.request;
    try {
      await this.#run(request);
    } catch (error) {
      request.output.fail(errors.internal(`remote worker failed: ${(error as Error).message}`, error));
    } finally {
      this.#options.engine.tell({ type: "request-finished", requestId: request.batch.requestId });
    }
  }

  async #run(request: EngineRequest): Promise<void> {
    const { batch, output } = request;
    const { adapter, deployment, observer } = this.#options;
    const clock = this.#context.clock;
    const resilience = adapter.resilience;
    let committed = false;
    let retries = 0;
    let reauthenticated = false;
    let lease = await this.#options.session.ask<SessionLease>((replyTo) => ({ type: "lease", replyTo }), {
      timeoutMs: ASK_TIMEOUT_MS,
    });
    const onChunk = (chunk: TokenChunk): Promise<void> | undefined => {
      if (!committed && commitsResponse(chunk)) committed = true;
      return output.offer(chunk) ? undefined : output.push(chunk);
    };
    const unsupported = adapter.unsupported?.(batch);
    if (unsupported) {
      output.fail(unsupported);
      return;
    }
    for (;;) {
      if (batch.signal.aborted) return;
      // built before the circuit check, so nothing can throw between taking a probe slot and recording
      const upstreamRequest = adapter.buildRequest(batch, lease.apiKey);
      // the permit and the circuit check go out together: one round trip of waiting, not two (in a
      // cluster both are Redis calls); whichever refuses, the other is given back
      const checking = this.#checkCircuit();
      const permit = await this.#permit(request);
      if (permit.type !== "granted") {
        void checking.then((early) => this.#releaseProbe(early));
        if (permit.type === "failed") output.fail(permit.error);
        return;
      }
      let check = await checking;
      if (permit.waited) {
        // the permit waited for its bucket: decide the circuit for now, not for then
        this.#releaseProbe(check);
        check = await this.#checkCircuit();
      }
      if (!check.allowed) {
        this.#refund(permit);
        if ("error" in check) {
          output.fail(check.error);
          return;
        }
        output.fail(
          errors.circuitOpen(
            `circuit open for ${adapter.provider} ${adapter.upstreamModel}: failing fast`,
            check.openedAt,
            check.retryAt,
          ),
        );
        return;
      }
      const startedAt = clock.now();
      const result = await callUpstream({
        dispatcher: lease.dispatcher,
        adapter,
        request: upstreamRequest,
        batch,
        clock,
        timeouts: resilience.timeouts,
        signal: batch.signal,
        onChunk,
      });
      observer.upstreamAttempt(
        deployment.name,
        result.status === undefined
          ? result.type === "cancelled"
            ? "cancelled"
            : "none"
          : String(result.status),
        (clock.now() - startedAt) / 1000,
      );
      const record = {
        type: "record",
        endpoint: adapter.endpoint,
        settings: resilience.circuitBreaker,
        outcome: outcomeOf(result),
        probe: check.probe,
      } as const;
      // a healthy endpoint's success (or a 429 / 4xx) leaves the circuit as it is: no store call
      const changesCircuit =
        check.probe ||
        record.outcome === "failure" ||
        (record.outcome === "success" && check.successChangesNothing !== true);
      if (record.outcome === "failure") {
        // a counted failure is stored before the request ends: a client that tries again, on any
        // node, meets the circuit this failure may have opened
        await this.#options.circuitBreaker
          .ask<true>((recorded) => ({ ...record, recorded }), { timeoutMs: ASK_TIMEOUT_MS })
          .catch(() => undefined);
      } else if (changesCircuit) this.#options.circuitBreaker.tell(record);
      if (result.type === "completed") {
        const usage = result.final.usage;
        this.#settle(
          permit.reservedTokens,
          usage ? usage.inputTokens + usage.outputTokens : permit.reservedTokens,
        );
        await onChunk(result.final);
        output.close();
        return;
      }
      if (result.type === "cancelled") {
        this.#settle(permit.reservedTokens, permit.reservedTokens);
        return;
      }
      const error = redactKey(result.error, lease.apiKey);
      this.#settle(permit.reservedTokens, 0);
      if (error.kind === "rate_limited") {
        this.#options.rateLimiter.tell({
          type: "penalize",
          key: this.#options.limiterKey,
          retryAfterMs: error.details.kind === "rate_limited" ? error.details.retryAfterMs : undefined,
        });
      }
      if (error.kind === "upstream_unauthorized" && !reauthenticated && !committed) {
        // re-read the secret, rebuild the client, and try once more (not counted as a retry)
        reauthenticated = true;
        const generation = lease.generation;
        lease = await this.#options.session.ask<SessionLease>(
          (replyTo) => ({ type: "refresh", generation, replyTo }),
          {
            timeoutMs: ASK_TIMEOUT_MS,
          },
        );
        continue;
      }
      const decision = decideRetry({
        settings: resilience.retry,
        error,
        retriesMade: retries,
        committed,
        idempotent: deployment.idempotent,
        now: clock.now(),
        deadline: batch.deadline,
        random: this.#options.random,
        hasFallbacks: deployment.fallbacks.length > 0,
      });
      if (!decision.retry) {
        output.fail(error);
        return;
      }
      retries++;
      observer.retried(deployment.name);
      if (!(await sleepOn(clock, decision.delayMs, batch.signal))) return;
    }
  }

  /**
   * Waits for a rate-limit permit. With on_capacity_exhausted = "queue" the wait is bounded by
   * queue_timeout_ms (and the deadline); otherwise a denied permit is a 429 at once.
   */
  async #permit(
    request: EngineRequest,
  ): Promise<
    | { type: "granted"; reservedTokens: number; limited: boolean; waited: boolean }
    | { type: "failed"; error: InferenceError }
    | { type: "cancelled" }
  > {
    const { adapter, deployment } = this.#options;
    const limits = adapter.resilience.rateLimits;
    if (!limits || (limits.requestsPerMinute === undefined && limits.tokensPerMinute === undefined)) {
      return { type: "granted", reservedTokens: 0, limited: false, waited: false };
    }
    const observer = this.#options.observer;
    const clock = this.#context.clock;
    const batch = request.batch;
    const waitUntil = Math.min(
      clock.now() + deployment.serving.queueTimeoutMs,
      batch.deadline ?? Number.POSITIVE_INFINITY,
    );
    let waited = false;
    for (;;) {
      const permit = await this.#options.rateLimiter.ask<Permit>(
        (replyTo) => ({
          type: "acquire",
          key: this.#options.limiterKey,
          limits,
          tokens: batch.estimatedTokens,
          replyTo,
        }),
        { timeoutMs: ASK_TIMEOUT_MS },
      );
      if (permit.granted) {
        observer.rateLimitUtilization(deployment.name, permit.utilization);
        return { type: "granted", reservedTokens: permit.reservedTokens, limited: true, waited };
      }
      if ("error" in permit) return { type: "failed", error: permit.error };
      const limited = errors.rateLimited(
        `rate limit of deployment ${deployment.name} reached (gateway limiter)`,
        Number.isFinite(permit.retryAfterMs) ? permit.retryAfterMs : undefined,
      );
      if (
        deployment.serving.onCapacityExhausted !== "queue" ||
        clock.now() + permit.retryAfterMs > waitUntil
      ) {
        return { type: "failed", error: limited };
      }
      waited = true;
      if (!(await sleepOn(clock, permit.retryAfterMs, batch.signal))) return { type: "cancelled" };
    }
  }

  /** Asks the circuit whether an attempt may go upstream now. */
  #checkCircuit(): Promise<CircuitCheckReply> {
    const { adapter } = this.#options;
    const resilience = adapter.resilience;
    return this.#options.circuitBreaker.ask<CircuitCheckReply>(
      (replyTo) => ({
        type: "check",
        endpoint: adapter.endpoint,
        settings: resilience.circuitBreaker,
        probeLeaseMs: resilience.timeouts.firstByteTimeoutMs,
        replyTo,
      }),
      { timeoutMs: ASK_TIMEOUT_MS },
    );
  }

  /** A check whose attempt is not made: a probe slot it took goes back (the result counts neither way). */
  #releaseProbe(check: CircuitCheckReply): void {
    if (!check.allowed || !check.probe) return;
    const { adapter } = this.#options;
    this.#options.circuitBreaker.tell({
      type: "record",
      endpoint: adapter.endpoint,
      settings: adapter.resilience.circuitBreaker,
      outcome: "neutral",
      probe: true,
    });
  }

  /** A fail-fast never reached the upstream: it spends neither a request slot nor tokens. */
  #refund(permit: { type: "granted"; reservedTokens: number; limited: boolean }): void {
    const limits = this.#options.adapter.resilience.rateLimits;
    if (!limits || !permit.limited) return;
    this.#options.rateLimiter.tell({
      type: "refund",
      key: this.#options.limiterKey,
      limits,
      reservedTokens: permit.reservedTokens,
    });
  }

  #settle(reserved: number, actual: number): void {
    const limits = this.#options.adapter.resilience.rateLimits;
    if (!limits?.tokensPerMinute || reserved === actual) return;
    this.#options.rateLimiter.tell({
      type: "settle",
      key: this.#options.limiterKey,
      limits,
      reserved,
      actual,
    });
  }
}
