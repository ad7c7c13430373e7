// MetricsActor: the one owner of the Prometheus series behind `/metrics`. RequestActors report each
// finished request, engines their load, the DeploymentManager its deployment states; the gateway
// `ask`s for a `scrape` and serves the text. Each actor owns its own prom-client Registry (never the
// global default), so several actor systems in one process never share series.

import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { ActorContext, ActorRef, Props } from "../../actor/index.js";
import { props } from "../../actor/index.js";
import { inferenceErrorKinds } from "../../core/inference-error.js";
import { FastHistogram } from "./fast-histogram.js";
import {
  type DeploymentSnapshot,
  type MetricsMessage,
  type RequestOutcome,
  unknownDeploymentLabel,
} from "./metrics-messages.js";

/** The content type of the `scrape` text; the gateway sets it on its `/metrics` response. */
export const metricsContentType: string = Registry.PROMETHEUS_CONTENT_TYPE;

/** Time to first token, 1 ms to 60 s (vLLM's range, cut at a minute). */
export const defaultTimeToFirstTokenBuckets: readonly number[] = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 60,
];
/** Gap between consecutive committed chunks, 0.5 ms to 2.5 s. */
export const defaultInterTokenBuckets: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5,
];
/** Arrival to last chunk, 100 ms to 10 minutes. */
export const defaultE2eBuckets: readonly number[] = [
  0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 600,
];
/** Arrival to admission by the engine's scheduler, 1 ms to 10 minutes. */
export const defaultQueueTimeBuckets: readonly number[] = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600,
];

/** Histogram buckets (upper bounds in seconds); each one omitted takes its default above. */
export interface MetricsBuckets {
  readonly timeToFirstTokenSeconds?: readonly number[];
  readonly interTokenSeconds?: readonly number[];
  readonly e2eSeconds?: readonly number[];
  readonly queueTimeSeconds?: readonly number[];
}

export type DeploymentState = Extract<MetricsMessage, { type: "deployment-state" }>["state"];

/** Every state `rakka_deployment_state` exports a series for, in lifecycle order. */
export const deploymentStates: readonly DeploymentState[] = [
  "pending",
  "serving",
  "draining",
  "failed",
  "removed",
];

type TokenDirection = "input" | "output";

/** The series the MetricsActor keeps; labels are only deployment names, outcomes, directions, states. */
export interface RakkaMetrics {
  readonly registry: Registry;
  readonly requestsTotal: Counter<"deployment" | "outcome">;
  readonly timeToFirstToken: FastHistogram;
  readonly interTokenLatency: FastHistogram;
  readonly e2eRequestLatency: FastHistogram;
  readonly requestQueueTime: FastHistogram;
  readonly requestsRunning: Gauge<"deployment">;
  readonly requestsWaiting: Gauge<"deployment">;
  readonly deploymentState: Gauge<"deployment" | "state">;
  readonly tokensTotal: Counter<"deployment" | "direction">;
  readonly workerRebuildsTotal: Counter<"deployment">;
  readonly engineStepsTotal: Counter<"deployment">;
  readonly upstreamRequestsTotal: Counter<"deployment" | "status">;
  readonly upstreamLatency: FastHistogram;
  readonly retriesTotal: Counter<"deployment">;
  readonly fallbacksTotal: Counter<"from" | "to" | "reason">;
  readonly costUsdTotal: Counter<"deployment">;
  readonly costEstimatedUsdTotal: Counter<"deployment">;
  readonly costUnknownTotal: Counter<"deployment">;
  readonly circuitState: Gauge<"deployment" | "endpoint">;
  readonly rateLimitUtilization: Gauge<"deployment">;
  readonly remoteQueueDepth: Gauge<"deployment">;
  readonly batchSize: FastHistogram;
  readonly storeAvailable: Gauge;
  readonly storeLatency: FastHistogram;
}

/**
 * Registers the `rakka_` series on `registry` and returns them. Called once per MetricsActor; the
 * registry must not already hold them (prom-client refuses a second metric with the same name).
 */
export function createMetrics(registry: Registry, buckets: MetricsBuckets = {}): RakkaMetrics {
  const registers = [registry];
  return {
    registry,
    requestsTotal: new Counter({
      name: "rakka_requests_total",
      help: 'Finished requests by outcome: "success", "cancelled" or the InferenceError kind.',
      labelNames: ["deployment", "outcome"] as const,
      registers,
    }),
    timeToFirstToken: new FastHistogram({
      name: "rakka_time_to_first_token_seconds",
      help: "Seconds from request arrival to its first committed chunk.",
      buckets: [...(buckets.timeToFirstTokenSeconds ?? defaultTimeToFirstTokenBuckets)],
      registers,
    }),
    interTokenLatency: new FastHistogram({
      name: "rakka_inter_token_latency_seconds",
      help: "Seconds between consecutive committed chunks of one request.",
      buckets: [...(buckets.interTokenSeconds ?? defaultInterTokenBuckets)],
      registers,
    }),
    e2eRequestLatency: new FastHistogram({
      name: "rakka_e2e_request_latency_seconds",
      help: "Seconds from request arrival to its end, whatever the outcome.",
      buckets: [...(buckets.e2eSeconds ?? defaultE2eBuckets)],
      registers,
    }),
    requestQueueTime: new FastHistogram({
      name: "rakka_request_queue_time_seconds",
      help: "Seconds a request waited in an engine's queue before it was admitted.",
      buckets: [...(buckets.queueTimeSeconds ?? defaultQueueTimeBuckets)],
      registers,
    }),
    requestsRunning: new Gauge({
      name: "rakka_num_requests_running",
      help: "Requests running, summed over the deployment's replicas (last load report of each).",
      labelNames: ["deployment"] as const,
      registers,
    }),
    requestsWaiting: new Gauge({
      name: "rakka_num_requests_waiting",
      help: "Requests waiting in engine queues, summed over the deployment's replicas (last load report of each).",
      labelNames: ["deployment"] as const,
      registers,
    }),
    deploymentState: new Gauge({
      name: "rakka_deployment_state",
      help: `Deployment lifecycle state: one series per state (${deploymentStates.join(", ")}), 1 for the current state and 0 for the others.`,
      labelNames: ["deployment", "state"] as const,
      registers,
    }),
    tokensTotal: new Counter({
      name: "rakka_tokens_total",
      help: 'Tokens processed, by direction: "input" (prompt) or "output" (generated).',
      labelNames: ["deployment", "direction"] as const,
      registers,
    }),
    workerRebuildsTotal: new Counter({
      name: "rakka_worker_rebuilds_total",
      help: "Engine workers rebuilt after a failure.",
      labelNames: ["deployment"] as const,
      registers,
    }),
    engineStepsTotal: new Counter({
      name: "rakka_engine_steps_total",
      help: "llama.cpp decode steps (one batch evaluated for all running sequences).",
      labelNames: ["deployment"] as const,
      registers,
    }),
    upstreamRequestsTotal: new Counter({
      name: "rakka_upstream_requests_total",
      help: 'Upstream attempts of remote deployments (retries included), by HTTP status ("none" when no answer came, "cancelled").',
      labelNames: ["deployment", "status"] as const,
      registers,
    }),
    upstreamLatency: new FastHistogram({
      name: "rakka_upstream_latency_seconds",
      help: "Seconds one upstream attempt took, to its end.",
      buckets: [...(buckets.e2eSeconds ?? defaultE2eBuckets)],
      registers,
    }),
    retriesTotal: new Counter({
      name: "rakka_retries_total",
      help: "Upstream attempts retried by remote engines.",
      labelNames: ["deployment"] as const,
      registers,
    }),
    fallbacksTotal: new Counter({
      name: "rakka_fallbacks_total",
      help: "Requests sent to a fallback deployment, by the deployment that failed, the fallback and the failure kind.",
      labelNames: ["from", "to", "reason"] as const,
      registers,
    }),
    costUsdTotal: new Counter({
      name: "rakka_cost_usd_total",
      help: "Spend in USD (priced usage of every request, estimates included).",
      labelNames: ["deployment"] as const,
      registers,
    }),
    costEstimatedUsdTotal: new Counter({
      name: "rakka_cost_estimated_usd_total",
      help: "The part of rakka_cost_usd_total that is estimated (streams that ended without reporting usage).",
      labelNames: ["deployment"] as const,
      registers,
    }),
    costUnknownTotal: new Counter({
      name: "rakka_cost_unknown_requests_total",
      help: "Remote requests whose cost is unknown: their model has no price (set [deployment.pricing]); never counted as zero spend.",
      labelNames: ["deployment"] as const,
      registers,
    }),
    circuitState: new Gauge({
      name: "rakka_circuit_state",
      help: "Circuit breaker state of each upstream endpoint a deployment uses: 0 closed, 1 half-open, 2 open.",
      labelNames: ["deployment", "endpoint"] as const,
      registers,
    }),
    rateLimitUtilization: new Gauge({
      name: "rakka_rate_limit_utilization",
      help: "Share of the requests-per-minute bucket in use (0 = full bucket, 1 = empty), at the last permit.",
      labelNames: ["deployment"] as const,
      registers,
    }),
    remoteQueueDepth: new Gauge({
      name: "rakka_remote_queue_depth",
      help: "Requests waiting for a remote worker, summed over the deployment's replicas.",
      labelNames: ["deployment"] as const,
      registers,
    }),
    batchSize: new FastHistogram({
      name: "rakka_batch_size",
      help: "Sequences evaluated together in one llama.cpp decode step.",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    storeAvailable: storeAvailableGauge(registers),
    storeLatency: new FastHistogram({
      name: "rakka_store_latency_seconds",
      help: "Round trips of a cluster node to its shared store (Redis), by store operation.",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
      label: "op",
    }),
  };
}

/** 1 while the shared store is reachable; a process outside a cluster has only memory stores: always 1. */
function storeAvailableGauge(registers: Registry[]): Gauge {
  const gauge = new Gauge({
    name: "rakka_store_available",
    help: "1 while this node reaches the cluster's shared store (Redis), 0 while it cannot (always 1 outside a cluster).",
    registers,
  });
  gauge.set(1);
  return gauge;
}

export interface MetricsActorOptions {
  /**
   * Where the series live. Default: a fresh Registry per actor. One given here must hold no `rakka_`
   * series yet, so give each MetricsActor its own.
   */
  readonly registry?: Registry;
  readonly buckets?: MetricsBuckets;
}

/**
 * Props of the MetricsActor. Its series and the per-replica load table belong to the actor, not to
 * one instance: they survive a supervisor restart, so counters do not reset and a registry passed in
 * is not registered twice.
 */
/** A registry with prom-client's process and Node.js series (CPU, RSS, heap, event-loop lag, GC). */
function processRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function metricsActorProps(options: MetricsActorOptions = {}): Props<MetricsMessage> {
  const stateByActor = new WeakMap<ActorRef<MetricsMessage>, MetricsState>();
  return props<MetricsMessage>((context) => {
    let state = stateByActor.get(context.self);
    if (!state) {
      state = {
        metrics: createMetrics(options.registry ?? processRegistry(), options.buckets),
        loads: new Map(),
        endpoints: new Map(),
        circuits: new Map(),
        queueDepths: new Map(),
        utilizations: new Map(),
      };
      stateByActor.set(context.self, state);
    }
    return metricsActor(context, state);
  });
}

interface ReplicaLoad {
  readonly running: number;
  readonly waiting: number;
}

interface MetricsState {
  readonly metrics: RakkaMetrics;
  /** Last load report of each replica, by deployment then replica id. */
  readonly loads: Map<string, Map<string, ReplicaLoad>>;
  /** Deployments using each circuit endpoint. */
  readonly endpoints: Map<string, Set<string>>;
  /** Last known state of each circuit endpoint. */
  readonly circuits: Map<string, "closed" | "open" | "half-open">;
  /** Remote queue depth of each replica, by deployment. */
  readonly queueDepths: Map<string, Map<string, number>>;
  /** Last rate-limit utilization of each deployment. */
  readonly utilizations: Map<string, number>;
}

const circuitValue = { closed: 0, "half-open": 1, open: 2 } as const;
const endpointPattern = /^[\x21-\x7e]{1,300}$/;
/** A store operation's name: "<store>.<operation>" in snake_case. */
const storeOpPattern = /^[a-z_]{1,32}\.[a-z_]{1,32}$/;

const knownOutcomes: ReadonlySet<string> = new Set<RequestOutcome>([
  "success",
  "cancelled",
  ...inferenceErrorKinds,
]);

const knownStates: ReadonlySet<string> = new Set<string>(deploymentStates);

// Same rule as the deployment `name` in core/config/deployment-schema.ts: anything else never
// becomes a label value, so a stray string (a prompt, a key) cannot leak into the exposition.
const deploymentNamePattern = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

const isCount = (value: number): boolean => Number.isFinite(value) && value >= 0;

function metricsActor(context: ActorContext<MetricsMessage>, state: MetricsState) {
  const { metrics, loads, endpoints, circuits, queueDepths, utilizations } = state;

  const refuse = (message: MetricsMessage, reason: string): void => {
    const deployment = "deployment" in message ? message.deployment : undefined;
    context.log.warn({ type: message.type, reason, deployment }, "metrics report ignored");
  };

  const observeAll = (histogram: FastHistogram, deployment: string, seconds: readonly number[]) => {
    for (const value of seconds) if (isCount(value)) histogram.observe(deployment, value);
  };

  const publishLoad = (deployment: string): void => {
    let running = 0;
    let waiting = 0;
    for (const load of loads.get(deployment)?.values() ?? []) {
      running += load.running;
      waiting += load.waiting;
    }
    metrics.requestsRunning.set({ deployment }, running);
    metrics.requestsWaiting.set({ deployment }, waiting);
  };

  const addTokens = (deployment: string, direction: TokenDirection, count: number): void => {
    if (isCount(count)) metrics.tokensTotal.inc({ deployment, direction }, count);
  };

  return {
    receive(message: MetricsMessage): void {
      if (message.type === "scrape") {
        // the exposition is built off the mailbox; reports keep flowing meanwhile
        const replyTo = message.replyTo;
        if (typeof replyTo?.tell !== "function") throw new TypeError("scrape without a replyTo");
        metrics.registry.metrics().then(
          (text) => replyTo.tell(text),
          (error: unknown) => context.log.warn({ error: String(error) }, "metrics scrape failed"),
        );
        return;
      }
      if (message.type === "snapshot") {
        const snapshot = new Map<string, DeploymentSnapshot>();
        const names = new Set([
          ...loads.keys(),
          ...utilizations.keys(),
          ...[...endpoints.values()].flatMap((set) => [...set]),
        ]);
        for (const deployment of names) {
          let running = 0;
          let waiting = 0;
          for (const load of loads.get(deployment)?.values() ?? []) {
            running += load.running;
            waiting += load.waiting;
          }
          const circuitList: Array<{ endpoint: string; state: "closed" | "open" | "half-open" }> = [];
          for (const [endpoint, users] of endpoints) {
            if (users.has(deployment))
              circuitList.push({ endpoint, state: circuits.get(endpoint) ?? "closed" });
          }
          snapshot.set(deployment, {
            running,
            waiting,
            rateLimitUtilization: utilizations.get(deployment),
            circuits: circuitList,
          });
        }
        message.replyTo.tell(snapshot);
        return;
      }
      if (message.type === "fallback") {
        if (
          !matches(deploymentNamePattern, message.from) ||
          !matches(deploymentNamePattern, message.to) ||
          !knownOutcomes.has(message.reason)
        ) {
          refuse(message, "invalid fallback report");
          return;
        }
        metrics.fallbacksTotal.inc({ from: message.from, to: message.to, reason: message.reason });
        return;
      }
      if (message.type === "store-latency") {
        if (!matches(storeOpPattern, message.op) || !(message.seconds >= 0)) {
          refuse(message, "invalid store latency report");
          return;
        }
        metrics.storeLatency.observe(message.op, message.seconds);
        return;
      }
      if (message.type === "store-available") {
        metrics.storeAvailable.set(message.available === true ? 1 : 0);
        return;
      }
      if (message.type === "circuit-state") {
        if (!matches(endpointPattern, message.endpoint) || !(message.state in circuitValue)) {
          refuse(message, "invalid circuit report");
          return;
        }
        circuits.set(message.endpoint, message.state);
        for (const deployment of endpoints.get(message.endpoint) ?? []) {
          metrics.circuitState.set({ deployment, endpoint: message.endpoint }, circuitValue[message.state]);
        }
        return;
      }
      const { deployment } = message;
      const unknownModel = message.type === "request-finished" && deployment === unknownDeploymentLabel;
      if (typeof deployment !== "string" || (!unknownModel && !matches(deploymentNamePattern, deployment))) {
        refuse(message, "invalid deployment name");
        return;
      }
      switch (message.type) {
        case "request-finished": {
          let outcome: string = message.outcome;
          if (!knownOutcomes.has(outcome)) {
            refuse(message, "unknown outcome, counted as internal");
            outcome = "internal";
          }
          metrics.requestsTotal.inc({ deployment, outcome });
          addTokens(deployment, "input", message.inputTokens);
          addTokens(deployment, "output", message.outputTokens);
          if (message.timeToFirstTokenSeconds !== undefined) {
            observeAll(metrics.timeToFirstToken, deployment, [message.timeToFirstTokenSeconds]);
          }
          observeAll(metrics.e2eRequestLatency, deployment, [message.e2eSeconds]);
          observeAll(metrics.interTokenLatency, deployment, message.interTokenSeconds);
          return;
        }
        case "queue-time":
          observeAll(metrics.requestQueueTime, deployment, [message.seconds]);
          return;
        case "engine-load": {
          if (!isCount(message.running) || !isCount(message.waiting)) {
            refuse(message, "invalid load");
            return;
          }
          let replicas = loads.get(deployment);
          if (!replicas) {
            replicas = new Map();
            loads.set(deployment, replicas);
          }
          replicas.set(message.replicaId, { running: message.running, waiting: message.waiting });
          publishLoad(deployment);
          return;
        }
        case "replica-removed": {
          const replicas = loads.get(deployment);
          replicas?.delete(message.replicaId);
          if (replicas?.size === 0) loads.delete(deployment);
          publishLoad(deployment);
          return;
        }
        case "deployment-state": {
          if (!knownStates.has(message.state)) {
            refuse(message, "unknown state");
            return;
          }
          for (const state of deploymentStates) {
            metrics.deploymentState.set({ deployment, state }, state === message.state ? 1 : 0);
          }
          if (!loads.has(deployment)) publishLoad(deployment);
          return;
        }
        case "worker-rebuilt":
          metrics.workerRebuildsTotal.inc({ deployment });
          return;
        case "upstream-attempt":
          metrics.upstreamRequestsTotal.inc({
            deployment,
            status: matches(/^(\d{3}|none|cancelled)$/, message.status) ? message.status : "none",
          });
          observeAll(metrics.upstreamLatency, deployment, [message.seconds]);
          return;
        case "retried":
          metrics.retriesTotal.inc({ deployment });
          return;
        case "cost":
          if (!isCount(message.usd)) {
            refuse(message, "invalid cost");
            return;
          }
          metrics.costUsdTotal.inc({ deployment }, message.usd);
          if (message.estimated) metrics.costEstimatedUsdTotal.inc({ deployment }, message.usd);
          return;
        case "cost-unknown":
          metrics.costUnknownTotal.inc({ deployment });
          return;
        case "endpoint-used": {
          if (!matches(endpointPattern, message.endpoint)) {
            refuse(message, "invalid endpoint");
            return;
          }
          let users = endpoints.get(message.endpoint);
          if (!users) {
            users = new Set();
            endpoints.set(message.endpoint, users);
          }
          users.add(deployment);
          metrics.circuitState.set(
            { deployment, endpoint: message.endpoint },
            circuitValue[circuits.get(message.endpoint) ?? "closed"],
          );
          return;
        }
        case "rate-limit-utilization":
          if (isCount(message.utilization)) {
            metrics.rateLimitUtilization.set({ deployment }, Math.min(1, message.utilization));
            utilizations.set(deployment, Math.min(1, message.utilization));
          }
          return;
        case "remote-queue-depth": {
          if (!isCount(message.depth)) {
            refuse(message, "invalid depth");
            return;
          }
          let replicas = queueDepths.get(deployment);
          if (!replicas) {
            replicas = new Map();
            queueDepths.set(deployment, replicas);
          }
          replicas.set(message.replicaId, message.depth);
          let depth = 0;
          for (const value of replicas.values()) depth += value;
          metrics.remoteQueueDepth.set({ deployment }, depth);
          return;
        }
        case "decode-step":
          if (!isCount(message.sequences)) {
            refuse(message, "invalid step");
            return;
          }
          metrics.engineStepsTotal.inc({ deployment });
          metrics.batchSize.observe(deployment, message.sequences);
          return;
        default: {
          const unknown: never = message;
          context.log.warn({ type: (unknown as { type?: unknown }).type }, "unknown metrics message ignored");
        }
      }
    },
  };
}

/** Whether `text` matches `pattern` (a whole-string check when the pattern is anchored). */
function matches(pattern: RegExp, text: string): boolean {
  return pattern.exec(text) !== null;
}
