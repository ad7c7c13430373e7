// Starts the serving actors (coordinator, placement, metrics, deployment manager) on an actor
// system and returns the InferenceService plus deployment control. The entry (createInferenceSystem)
// and the CLI call it with a filled runtime registry.

import { type ActorRef, type ActorSystem, narrowRef, type Props, props } from "../actor/index.js";
import type { DeploymentSpec } from "../core/deployment.js";
import { errors } from "../core/inference-error.js";
import {
  type CircuitStateStore,
  MemoryCircuitStateStore,
  MemoryRateLimitStore,
  MemorySpendLedger,
  type RateLimitStore,
  type SpendLedger,
} from "../core/stores/index.js";
import type { EngineObserver, EngineWork, LoadReported } from "../protocol/engine-messages.js";
import type { RuntimeRegistry } from "../protocol/runtime-registry.js";
import { type AdminCatalog, type AdminService, createAdminService } from "./control/admin-service.js";
import {
  type ApplyResult,
  DeploymentManagerActor,
  type ManagerMessage,
} from "./control/deployment-manager-actor.js";
import {
  DeploymentPlacementActor,
  type NodeCapacity,
  type PlacementMessage,
  type ReplaceRequest,
} from "./control/deployment-placement-actor.js";
import { metricsActorProps } from "./metrics/metrics-actor.js";
import type { MetricsMessage } from "./metrics/metrics-messages.js";
import { BudgetActor, type BudgetMessage } from "./request/budget-actor.js";
import {
  type CoordinatorMessage,
  DpCoordinatorActor,
  type RouteReply,
} from "./request/dp-coordinator-actor.js";
import { InferenceService } from "./request/inference-service.js";
import type { DeploymentStatus } from "./service-types.js";

export interface ServingOptions {
  readonly system: ActorSystem;
  readonly registry: RuntimeRegistry;
  readonly requestTimeoutMs: number;
  readonly random?: () => number;
  /** Set on a cluster node (its id); absent outside a cluster, where the node is "local". */
  readonly nodeId?: string;
  /** This node's capacity for local model replicas (default: unlimited). */
  readonly modelSlots?: number;
  /** Whether this node runs engines for remote deployments (default true; `[cluster] egress`). */
  readonly egress?: boolean;
  /**
   * In a cluster: the local runtimes whose replicas the shared placement decides (llama); a
   * replica of one runs here only where the placement puts it (`Serving.placementChanged`).
   */
  readonly placedRuntimes?: readonly string[];
  /** Counts this node's GPUs for replicas whose deployment sets `gpus` (none given: 0 GPUs). */
  readonly detectGpus?: () => Promise<number>;
  /** In a cluster: `[cluster] model_slots` and whose turn it is to replace a replica in place. */
  readonly placedSlots?: number;
  readonly replaceTurn?: (request: ReplaceRequest) => boolean;
  /** Shared stores (memory by default; Redis in a cluster). */
  readonly rateLimits?: RateLimitStore;
  readonly circuits?: CircuitStateStore;
  readonly ledger?: SpendLedger;
}

export interface Serving {
  readonly service: InferenceService;
  readonly coordinator: ActorRef<CoordinatorMessage>;
  readonly manager: ActorRef<ManagerMessage>;
  readonly metrics: ActorRef<MetricsMessage>;
  readonly budget: ActorRef<BudgetMessage>;
  /** Creates or updates; resolves once it serves or failed. */
  apply(deployment: DeploymentSpec, timeoutMs?: number): Promise<ApplyResult>;
  /** Resolves once its in-flight requests drained and its replicas stopped. */
  remove(name: string, timeoutMs?: number): Promise<ApplyResult>;
  deployments(): Promise<readonly DeploymentStatus[]>;
  /**
   * A request another node forwarded here (docs/cluster.md, "Forwarding"): a generation, an
   * embedding request or a token count, routed to one of this node's own engines only and handed
   * to it; when none can take it, its output fails.
   */
  executeLocal(work: EngineWork): void;
  /**
   * A cluster's placement changed: for each deployment it places, the replica indexes on this node.
   * Replicas start and drain to match (docs/cluster.md, "Placement").
   */
  placementChanged(assignments: ReadonlyMap<string, ReadonlySet<number>>): void;
  /**
   * The admin API's operations, with secrets restricted to `allowedSecretSources`; the deployments
   * it applies may reach link-local / metadata addresses only when `allowedHosts` lists them. In a
   * cluster, `catalog` takes its apply and remove (docs/cluster.md, "One catalog").
   */
  admin(
    allowedSecretSources: readonly string[],
    allowedHosts?: readonly string[],
    catalog?: AdminCatalog,
  ): AdminService;
}

const APPLY_TIMEOUT_MS = 10 * 60_000;
/** A forwarded request's route is asked of this node's own coordinator: it answers at once. */
const ROUTE_TIMEOUT_MS = 10_000;

export function startServing(options: ServingOptions): Serving {
  const { system } = options;
  const random = options.random ?? Math.random;
  const nodeId = options.nodeId ?? "local";
  const metrics = system.spawn(metricsActorProps(), "metrics");
  const coordinator = system.spawn(
    props<CoordinatorMessage>((context) => new DpCoordinatorActor(context, random, nodeId)),
    "dp-coordinator",
  );
  const nodes: NodeCapacity[] = [
    {
      nodeId,
      modelSlots: options.modelSlots ?? Number.POSITIVE_INFINITY,
      egress: options.egress ?? true,
    },
  ];
  const placement = system.spawn(
    props<PlacementMessage>(
      () =>
        new DeploymentPlacementActor(nodes, {
          clustered: options.nodeId !== undefined,
          placedRuntimes: options.placedRuntimes ?? [],
          ...(options.detectGpus ? { detectGpus: options.detectGpus } : {}),
          ...(options.placedSlots === undefined ? {} : { placedSlots: options.placedSlots }),
          ...(options.replaceTurn ? { replaceTurn: options.replaceTurn } : {}),
        }),
    ),
    "deployment-placement",
  );
  const observer: EngineObserver = {
    queueTime: (deployment, seconds) => metrics.tell({ type: "queue-time", deployment, seconds }),
    workerRebuilt: (deployment) => metrics.tell({ type: "worker-rebuilt", deployment }),
    runningChanged: (deployment, replicaId, running, waiting) =>
      metrics.tell({ type: "engine-load", deployment, replicaId, running, waiting }),
    decodeStep: (deployment, sequences, tokens) =>
      metrics.tell({ type: "decode-step", deployment, sequences, tokens }),
    upstreamAttempt: (deployment, status, seconds) =>
      metrics.tell({ type: "upstream-attempt", deployment, status, seconds }),
    retried: (deployment) => metrics.tell({ type: "retried", deployment }),
    remoteQueueDepth: (deployment, replicaId, depth) =>
      metrics.tell({ type: "remote-queue-depth", deployment, replicaId, depth }),
    endpointUsed: (deployment, endpoint) => metrics.tell({ type: "endpoint-used", deployment, endpoint }),
    circuitStateChanged: (endpoint, state) => metrics.tell({ type: "circuit-state", endpoint, state }),
    rateLimitUtilization: (deployment, utilization) =>
      metrics.tell({ type: "rate-limit-utilization", deployment, utilization }),
  };
  const singletons = new Map<string, ActorRef<never>>();
  const singleton = <M>(name: string, build: () => Props<M>): ActorRef<M> => {
    let ref = singletons.get(name);
    if (!ref) {
      ref = system.spawn(build(), name) as ActorRef<never>;
      singletons.set(name, ref);
    }
    return ref as unknown as ActorRef<M>;
  };
  const stores = {
    rateLimits: options.rateLimits ?? new MemoryRateLimitStore(),
    circuits: options.circuits ?? new MemoryCircuitStateStore(),
  };
  const manager = system.spawn(
    props<ManagerMessage>(
      (context) =>
        new DeploymentManagerActor(context, {
          registry: options.registry,
          coordinator,
          placement,
          metrics,
          engineDeps: {
            clock: system.clock,
            logger: system.log,
            coordinator: narrowRef<LoadReported, CoordinatorMessage>(coordinator),
            observer,
            random,
            stores,
            singleton,
          },
        }),
    ),
    "deployment-manager",
  );
  const budget = system.spawn(
    props<BudgetMessage>(
      (context) =>
        new BudgetActor(context, {
          ledger: options.ledger ?? new MemorySpendLedger(),
          throttle: (deployment, factor) => manager.tell({ type: "throttle", deployment, factor }),
        }),
    ),
    "budget",
  );
  const service = new InferenceService({
    system,
    coordinator,
    manager,
    metrics,
    budget,
    requestTimeoutMs: options.requestTimeoutMs,
    idPrefix: nodeId,
  });
  return {
    service,
    coordinator,
    manager,
    metrics,
    budget,
    apply: (deployment, timeoutMs = APPLY_TIMEOUT_MS) =>
      manager.ask<ApplyResult>((replyTo) => ({ type: "apply", deployment, replyTo }), { timeoutMs }),
    remove: (name, timeoutMs = APPLY_TIMEOUT_MS) =>
      manager.ask<ApplyResult>((replyTo) => ({ type: "remove", name, replyTo }), { timeoutMs }),
    deployments: () => service.deployments(),
    placementChanged(assignments) {
      placement.tell({ type: "assignments", assignments });
      manager.tell({ type: "placement-changed", assignments });
    },
    executeLocal(work) {
      const { batch, output } = work.request;
      void coordinator
        .ask<RouteReply>(
          (replyTo) => ({
            type: "route-to",
            deployment: batch.model,
            localOnly: true,
            ...(work.type === "count-tokens" ? { uncounted: true } : {}),
            replyTo,
          }),
          {
            timeoutMs: ROUTE_TIMEOUT_MS,
          },
        )
        .then(
          (route) => {
            if (route.type === "no-route") {
              output.fail(route.error);
              return;
            }
            const sent = route.target.ref.offer(work);
            if (!sent.ok) output.fail(errors.unavailable(`the replica serving ${batch.model} is gone`));
          },
          (error: unknown) =>
            output.fail(errors.unavailable(`no route for ${batch.model}: ${(error as Error).message}`)),
        );
    },
    admin: (allowedSecretSources, allowedHosts = [], catalog) =>
      createAdminService({
        manager,
        metrics,
        budget,
        registry: options.registry,
        allowedSecretSources,
        allowedHosts,
        ...(catalog ? { catalog } : {}),
      }),
  };
}
