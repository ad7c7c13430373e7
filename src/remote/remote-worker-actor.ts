// RemoteWorkerActor: one of a remote replica's pool of max_concurrent workers; runs one request at
// a time. Each attempt: a rate-limit permit (requests and estimated tokens), a circuit check, the
// upstream call with its timeouts, the outcome recorded; then retry (before commit only, within
// the deadline, with backoff on the injected clock) or end the request with one typed error.
// A generation streams (callUpstream); an embedding request is one unary call (callUpstreamUnary)
// through the same attempts, always retried as idempotent (it changes nothing upstream).

import type { Dispatcher } from "undici";
import type { Actor, ActorContext, ActorRef } from "../actor/index.js";
import type { DeploymentSpec } from "../core/deployment.js";
import type { Embeddings } from "../core/embedding.js";
import { countsAsCircuitFailure, errors, InferenceError } from "../core/inference-error.js";
import { sleepOn } from "../core/runner-clock.js";
import { commitsResponse, type TokenChunk } from "../core/token-chunk.js";
import type { EmbedRequest, EngineObserver, EngineRequest } from "../protocol/engine-messages.js";
import type { AttemptOutcome } from "./circuit-breaker.js";
import type { CircuitCheckReply, CircuitMessage } from "./circuit-breaker-actor.js";
import type { ProviderAdapter, UpstreamRequest } from "./provider.js";
import type { Permit, RateLimiterMessage } from "./rate-limiter-actor.js";
import type { SessionLease, SessionMessage } from "./remote-session-actor.js";
import { decideRetry } from "./retry-policy.js";
import { callUpstream } from "./upstream-call.js";
import { callUpstreamUnary } from "./upstream-unary-call.js";

export type RemoteWorkerMessage =
  | { readonly type: "run"; readonly request: EngineRequest }
  | { readonly type: "embed"; readonly request: EmbedRequest };

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

/** One attempt's end, whichever call made it: its value when it completed. */
type CallResult<R> =
  | { readonly type: "completed"; readonly value: R; readonly status: number }
  | { readonly type: "failed"; readonly error: InferenceError; readonly status: number | undefined }
  | { readonly type: "cancelled"; readonly status: number | undefined };

function outcomeOf(result: CallResult<unknown>): AttemptOutcome {
  if (result.type === "completed") return "success";
  if (result.type === "cancelled") return "neutral";
  return countsAsCircuitFailure(result.error) ? "failure" : "neutral";
}

/** What the attempt loop needs of one request, a generation or an embedding. */
interface AttemptPlan<R> {
  readonly signal: AbortSignal;
  readonly deadline: number | undefined;
  /** The rate limiter's reservation. */
  readonly estimatedTokens: number;
  /** Retried as idempotent whatever the deployment says (embeddings). */
  readonly idempotent: boolean;
  /** Whether the client has been shown something (no retry after that). */
  committed(): boolean;
  build(apiKey: string | undefined): UpstreamRequest;
  call(dispatcher: Dispatcher, request: UpstreamRequest): Promise<CallResult<R>>;
  /** The tokens a completed call used, for the limiter's settle (undefined: as reserved). */
  usedTokens(value: R): number | undefined;
  succeed(value: R): Promise<void> | void;
  fail(error: InferenceError): void;
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
      if (message.type === "embed") await this.#embed(message.request);
      else await this.#run(message.request);
    } catch (error) {
      request.output.fail(errors.internal(`remote worker failed: ${(error as Error).message}`, error));
    } finally {
      this.#options.engine.tell({ type: "request-finished", requestId: request.batch.requestId });
    }
  }

  async #run(request: EngineRequest): Promise<void> {
    const { batch, output } = request;
    const { adapter, deployment } = this.#options;
    const clock = this.#context.clock;
    let committed = false;
    const onChunk = (chunk: TokenChunk): Promise<void> | undefined => {
      if (!committed && commitsResponse(chunk)) committed = true;
      return output.offer(chunk) ? undefined : output.push(chunk);
    };
    const unsupported = adapter.unsupported?.(batch);
    if (unsupported) {
      output.fail(unsupported);
      return;
    }
    await this.#attempts<TokenChunk>({
      signal: batch.signal,
      deadline: batch.deadline,
      estimatedTokens: batch.estimatedTokens,
      idempotent: deployment.idempotent,
      committed: () => committed,
      build: (apiKey) => adapter.buildRequest(batch, apiKey),
      call: async (dispatcher, upstreamRequest) => {
        const result = await callUpstream({
          dispatcher,
          adapter,
          request: upstreamRequest,
          batch,
          clock,
          timeouts: adapter.resilience.timeouts,
          signal: batch.signal,
          onChunk,
        });
        return result.type === "completed"
          ? { type: "completed", value: result.final, status: result.status }
          : result;
      },
      usedTokens: (final) => (final.usage ? final.usage.inputTokens + final.usage.outputTokens : undefined),
      succeed: async (final) => {
        await onChunk(final);
        output.close();
      },
      fail: (error) => output.fail(error),
    });
  }

  async #embed(request: EmbedRequest): Promise<void> {
    const { batch, output } = request;
    const { adapter, deployment } = this.#options;
    const build = adapter.buildEmbeddingRequest?.bind(adapter);
    const parse = adapter.parseEmbeddingResponse?.bind(adapter);
    if (!build || !parse) {
      output.fail(
        errors.badRequest(
          `deployment ${deployment.name} (runtime ${deployment.runtime}) cannot embed`,
          "model",
        ),
      );
      return;
    }
    const unsupported = adapter.unsupportedEmbedding?.(batch);
    if (unsupported) {
      output.fail(unsupported);
      return;
    }
    const clock = this.#context.clock;
    await this.#attempts<Embeddings>({
      signal: batch.signal,
      deadline: batch.deadline,
      estimatedTokens: batch.estimatedTokens,
      idempotent: true,
      committed: () => false,
      build: (apiKey) => build(batch, apiKey),
      call: (dispatcher, upstreamRequest) =>
        callUpstreamUnary({
          dispatcher,
          request: upstreamRequest,
          clock,
          timeouts: adapter.resilience.timeouts,
          signal: batch.signal,
          mapError: adapter.mapError,
          parse: (body) => parse(body, batch),
        }),
      usedTokens: (embeddings) => embeddings.usage.inputTokens,
      succeed: (embeddings) => output.resolve(embeddings),
      fail: (error) => output.fail(error),
    });
  }

  /** The attempts of one request: permit, circuit, call, record; retry or end (see the top). */
  async #attempts<R>(plan: AttemptPlan<R>): Promise<void> {
    const { adapter, deployment, observer } = this.#options;
    const clock = this.#context.clock;
    const resilience = adapter.resilience;
    let retries = 0;
    let reauthenticated = false;
    let lease = await this.#options.session.ask<SessionLease>((replyTo) => ({ type: "lease", replyTo }), {
      timeoutMs: ASK_TIMEOUT_MS,
    });
    for (;;) {
      if (plan.signal.aborted) return;
      // built before the circuit check, so nothing can throw between taking a probe slot and recording
      const upstreamRequest = plan.build(lease.apiKey);
      // the permit and the circuit check go out together: one round trip of waiting, not two (in a
      // cluster both are Redis calls); whichever refuses, the other is given back
      const checking = this.#checkCircuit();
      const permit = await this.#permit(plan);
      if (permit.type !== "granted") {
        void checking.then((early) => this.#releaseProbe(early));
        if (permit.type === "failed") plan.fail(permit.error);
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
          plan.fail(check.error);
          return;
        }
        plan.fail(
          errors.circuitOpen(
            `circuit open for ${adapter.provider} ${adapter.upstreamModel}: failing fast`,
            check.openedAt,
            check.retryAt,
          ),
        );
        return;
      }
      const startedAt = clock.now();
      const result = await plan.call(lease.dispatcher, upstreamRequest);
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
        this.#settle(permit.reservedTokens, plan.usedTokens(result.value) ?? permit.reservedTokens);
        await plan.succeed(result.value);
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
      if (error.kind === "upstream_unauthorized" && !reauthenticated && !plan.committed()) {
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
        committed: plan.committed(),
        idempotent: plan.idempotent,
        now: clock.now(),
        deadline: plan.deadline,
        random: this.#options.random,
        hasFallbacks: deployment.fallbacks.length > 0,
      });
      if (!decision.retry) {
        plan.fail(error);
        return;
      }
      retries++;
      observer.retried(deployment.name);
      if (!(await sleepOn(clock, decision.delayMs, plan.signal))) return;
    }
  }

  /**
   * Waits for a rate-limit permit. With on_capacity_exhausted = "queue" the wait is bounded by
   * queue_timeout_ms (and the deadline); otherwise a denied permit is a 429 at once.
   */
  async #permit(
    plan: Pick<AttemptPlan<unknown>, "signal" | "deadline" | "estimatedTokens">,
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
    const waitUntil = Math.min(
      clock.now() + deployment.serving.queueTimeoutMs,
      plan.deadline ?? Number.POSITIVE_INFINITY,
    );
    let waited = false;
    for (;;) {
      const permit = await this.#options.rateLimiter.ask<Permit>(
        (replyTo) => ({
          type: "acquire",
          key: this.#options.limiterKey,
          limits,
          tokens: plan.estimatedTokens,
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
      if (!(await sleepOn(clock, permit.retryAfterMs, plan.signal))) return { type: "cancelled" };
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
