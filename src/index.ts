// The package's public API. With the CLI (built on it), the only place that knows the concrete
// runtimes: it fills the runtime registry that is handed down to the deployment manager.

import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import type { z } from "zod";
import { ActorSystem, type Clock, type Logger, systemClock } from "./actor/index.js";
import { type ClusterNode, createClusterNode } from "./cluster/cluster-node.js";
import type { ClusterConfig } from "./core/config/cluster-schema.js";
import {
  Deployment as DeploymentValidator,
  type deploymentTableSchema,
} from "./core/config/deployment-schema.js";
import { formatProblems } from "./core/config/problem.js";
import { type ServerConfig, serverDefaults } from "./core/config/server-schema.js";
import type { DeploymentSpec, PricingConfig } from "./core/deployment.js";
import type { CompletionResult } from "./core/dialect.js";
import { errors } from "./core/inference-error.js";
import { settledWithin } from "./core/runner-clock.js";
import type { SecretEnvironment } from "./core/secret.js";
import { MemoryResponseStore } from "./core/stores/memory-response-store.js";
import type { TokenChunk } from "./core/token-chunk.js";
import { localEngineProps } from "./engine/local-engine.js";
import type { RuntimeRegistry, RuntimeRegistryEntry } from "./protocol/runtime-registry.js";
import type { EngineTargetLoad } from "./protocol/target-load.js";
import type { ProviderAdapter } from "./remote/provider.js";
import {
  type AnthropicConfig,
  anthropicConfigSchema,
} from "./remote/providers/anthropic/anthropic-config.js";
import { anthropicPrice } from "./remote/providers/anthropic/anthropic-prices.js";
import { anthropicAdapter } from "./remote/providers/anthropic/anthropic-provider.js";
import { type GeminiConfig, geminiConfigSchema } from "./remote/providers/gemini/gemini-config.js";
import { geminiPrice } from "./remote/providers/gemini/gemini-prices.js";
import { geminiAdapter } from "./remote/providers/gemini/gemini-provider.js";
import { type LiteLlmConfig, liteLlmConfigSchema } from "./remote/providers/litellm/litellm-config.js";
import { liteLlmAdapter } from "./remote/providers/litellm/litellm-provider.js";
import { type OpenAiConfig, openAiConfigSchema } from "./remote/providers/openai/openai-config.js";
import { openAiPrice } from "./remote/providers/openai/openai-prices.js";
import { openAiAdapter } from "./remote/providers/openai/openai-provider.js";
import {
  type OpenAiCompatibleConfig,
  openAiCompatibleConfigSchema,
} from "./remote/providers/openai-compatible/openai-compatible-config.js";
import { openAiCompatibleAdapter } from "./remote/providers/openai-compatible/openai-compatible-provider.js";
import { remoteEngineProps } from "./remote/remote-engine.js";
import { detectGpus } from "./runtimes/llama/gpu-detection.js";
import { type LlamaConfig, llamaConfigSchema } from "./runtimes/llama/llama-config.js";
import { LlamaRunner } from "./runtimes/llama/llama-runner.js";
import { type MockConfig, mockConfigSchema, mockRunnerFactory } from "./runtimes/mock/index.js";
import { createAdminRoutes } from "./serving/control/admin-api.js";
import type { ReplaceRequest } from "./serving/control/deployment-placement-actor.js";
import { parseChatRequest } from "./serving/dialects/openai/openai-request.js";
import { type DialectDeps, servedDialects, servedRoutes } from "./serving/dialects/served-dialects.js";
import { createHttpGateway, type ListeningGateway } from "./serving/http/http-gateway.js";
import type { DeploymentSnapshot } from "./serving/metrics/metrics-messages.js";
import type { PeerRouteTarget } from "./serving/request/dp-coordinator-actor.js";
import type { ClusterStatus, DeploymentStatus } from "./serving/service-types.js";
import { type Serving, startServing } from "./serving/serving-system.js";
import { packageVersion } from "./version.js";

export { ActorSystem, type Clock, type Logger } from "./actor/index.js";
export { type ProjectConfig, parseConfig } from "./core/config/load-config.js";
export { formatProblems, type Problem } from "./core/config/problem.js";
export type { DeploymentSpec, ServingConfig } from "./core/deployment.js";
export { Deployment } from "./core/deployment.js";
export type { CompletionResult } from "./core/dialect.js";
export type { InferenceErrorDetails, InferenceErrorKind } from "./core/inference-error.js";
export { countsAsCircuitFailure, errors, InferenceError, isRetryable } from "./core/inference-error.js";
export { Secret } from "./core/secret.js";
export type { TokenChunk, TokenUsage } from "./core/token-chunk.js";
export type { RuntimeRegistry, RuntimeRegistryEntry } from "./protocol/runtime-registry.js";
export type { DeploymentStatus } from "./serving/service-types.js";

/** A `[[deployment]]` table as written in the config file (snake_case). */
export type DeploymentInput = z.input<typeof deploymentTableSchema>;

/**
 * After the drain deadline answered the requests still running (unavailable), how long (real time:
 * socket I/O) to let those answers flush before the remaining connections are closed.
 */
/** The local runtimes whose replicas a cluster's placement decides: those with model files. */
const PLACED_RUNTIMES: readonly string[] = ["llama"];

/** `[cluster] model_slots` when the table leaves it out (docs/configuration.md). */
const DEFAULT_MODEL_SLOTS = 1;

/** Which of the llama model files `paths` this process can read (with their sizes) and which not: the heartbeat's model lists. */
async function modelFiles(
  paths: readonly string[],
): Promise<{ models: Array<{ path: string; bytes: number }>; missingModels: string[] }> {
  const models: Array<{ path: string; bytes: number }> = [];
  const missingModels: string[] = [];
  await Promise.all(
    [...new Set(paths)].map(async (path) => {
      try {
        await access(path, constants.R_OK);
        const info = await stat(path);
        if (info.isFile()) {
          models.push({ path, bytes: info.size });
          return;
        }
      } catch {}
      missingModels.push(path);
    }),
  );
  models.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { models, missingModels: missingModels.sort() };
}

/** A node with this many requests in flight holds its store calls briefly to batch them. */
const BUSY_IN_FLIGHT = 4;
const FLUSH_GRACE_MS = 1000;

const mockEntry: RuntimeRegistryEntry = {
  transport: "local",
  configSchema: mockConfigSchema,
  engineProps: (deployment, replica, deps) =>
    localEngineProps(
      deployment,
      replica,
      deps,
      mockRunnerFactory(deployment.runtimeConfig as MockConfig, deps.clock),
    ),
};

/**
 * The llama runtime. `onRunner` sees each runner built (tests use it to inject a native failure
 * into a live runner). node-llama-cpp itself is imported only when a runner loads a model.
 */
export function llamaRuntimeEntry(
  options: { onRunner?: (runner: LlamaRunner, deployment: string) => void } = {},
): RuntimeRegistryEntry {
  return {
    transport: "local",
    configSchema: llamaConfigSchema,
    engineProps: (deployment, replica, deps) =>
      localEngineProps(deployment, replica, deps, () => {
        const runner = new LlamaRunner({
          config: deployment.runtimeConfig as LlamaConfig,
          maxSequences: deployment.serving.maxConcurrent,
          ...(deployment.gpus ? { gpus: deployment.gpus } : {}),
          onDecodeStep: (sequences, tokens) => deps.observer.decodeStep(deployment.name, sequences, tokens),
        });
        options.onRunner?.(runner, deployment.name);
        return runner;
      }),
  };
}

/** A remote provider: its runtime_config schema and how its config becomes an adapter. */
function remoteEntry<C>(
  configSchema: RuntimeRegistryEntry["configSchema"],
  adapterOf: (model: string, config: C, now: () => number) => ProviderAdapter,
  pricing?: (model: string) => PricingConfig | undefined,
): RuntimeRegistryEntry {
  return {
    transport: "remote",
    configSchema,
    ...(pricing ? { pricing: (deployment: DeploymentSpec) => pricing(deployment.model) } : {}),
    engineProps: (deployment, replica, deps) =>
      remoteEngineProps(
        deployment,
        replica,
        deps,
        adapterOf(deployment.model, deployment.runtimeConfig as C, () => deps.clock.now()),
      ),
  };
}

/** The runtimes this build provides: every kind of src/core/runtime-kind.ts. */
export function defaultRuntimeRegistry(): RuntimeRegistry {
  return new Map([
    ["mock", mockEntry],
    ["llama", llamaRuntimeEntry()],
    ["openai", remoteEntry<OpenAiConfig>(openAiConfigSchema, openAiAdapter, openAiPrice)],
    ["anthropic", remoteEntry<AnthropicConfig>(anthropicConfigSchema, anthropicAdapter, anthropicPrice)],
    ["gemini", remoteEntry<GeminiConfig>(geminiConfigSchema, geminiAdapter, geminiPrice)],
    ["litellm", remoteEntry<LiteLlmConfig>(liteLlmConfigSchema, liteLlmAdapter)],
    [
      "openai-compatible",
      remoteEntry<OpenAiCompatibleConfig>(openAiCompatibleConfigSchema, openAiCompatibleAdapter),
    ],
  ]);
}

export interface InferenceSystemOptions {
  /**
   * Applied before createInferenceSystem resolves (config-file shape, snake_case). On a cluster
   * node: tables only, merged into the shared catalog by the startup rule (docs/cluster.md).
   */
  readonly deployments?: readonly (DeploymentInput | DeploymentSpec)[];
  /** Defaults to the real clock; tests pass a ManualClock. */
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly server?: Partial<ServerConfig>;
  readonly registry?: RuntimeRegistry;
  readonly secrets?: SecretEnvironment;
  /** Random numbers in [0, 1) for routing and jitter (injectable for tests). */
  readonly random?: () => number;
  /**
   * A [cluster] table: this system becomes one node of a cluster sharing one Redis (rate limits,
   * circuits and spend live there; docs/cluster.md). Absent: everything is in this process.
   */
  readonly cluster?: ClusterConfig;
}

export interface InferenceSystem {
  /** Creates or updates a deployment; resolves once it serves (or failed: see `state`). */
  apply(deployment: DeploymentInput | DeploymentSpec): Promise<DeploymentStatus>;
  /** Removes a deployment: new requests get `not_found` at once, in-flight ones finish. */
  remove(name: string): Promise<void>;
  /** Runs an OpenAI-style chat request to the end. Rejects with InferenceError. */
  complete(body: ChatRequestBody, options?: { signal?: AbortSignal }): Promise<CompletionResult>;
  /** Streams an OpenAI-style chat request's chunks; iteration throws InferenceError on failure. */
  stream(body: ChatRequestBody, options?: { signal?: AbortSignal }): AsyncIterable<TokenChunk>;
  deployments(): Promise<readonly DeploymentStatus[]>;
  /** Starts the HTTP gateway (`bind` "host:port"; port 0 picks a free one). */
  listen(options?: { bind?: string }): Promise<ListeningGateway>;
  /**
   * Shuts down, in order (docs/operations.md, "Shutdown"): for `drainDelayMs` /readyz answers 503
   * `draining` while requests are still served; then it stops accepting and lets in-flight requests
   * finish up to `drainTimeoutMs`; the ones still running then end with `unavailable` (answered,
   * not cut off), and everything stops.
   */
  close(options?: { drainTimeoutMs?: number; drainDelayMs?: number }): Promise<void>;
  readonly serving: Serving;
  readonly server: ServerConfig;
  /** This node's view of its cluster; undefined outside a cluster (or before listen joined it). */
  cluster(): ClusterStatus | undefined;
}

/** An OpenAI chat completion body: `{ model, messages, max_tokens?, stream?, ... }`. */
export type ChatRequestBody = Record<string, unknown> & { model: string; messages: unknown[] };

/** A cluster's catalog stores the table as written, so a cluster node takes deployments only as tables. */
function tableOf(input: DeploymentInput | DeploymentSpec): Readonly<Record<string, unknown>> {
  if (isSpec(input))
    throw errors.badRequest(
      `deployment ${input.name}: a cluster node takes deployments as tables (the config file's shape)`,
    );
  return input as Readonly<Record<string, unknown>>;
}

function isSpec(input: DeploymentInput | DeploymentSpec): input is DeploymentSpec {
  return "serving" in input && input.serving !== undefined && "maxConcurrent" in (input.serving as object);
}

export async function createInferenceSystem(options: InferenceSystemOptions = {}): Promise<InferenceSystem> {
  const registry = options.registry ?? defaultRuntimeRegistry();
  const server: ServerConfig = {
    host: "127.0.0.1",
    port: 0,
    apiKeys: [],
    maxBodyBytes: serverDefaults.maxBodyBytes,
    requestTimeoutMs: serverDefaults.requestTimeoutMs,
    drainTimeoutMs: serverDefaults.drainTimeoutMs,
    bodyTimeoutMs: serverDefaults.bodyTimeoutMs,
    drainDelayMs: 0,
    adminSecretSources: [],
    adminAllowedHosts: [],
    ...options.server,
  };
  const system = ActorSystem.create({
    name: "rakka",
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const clusterConfig = options.cluster;
  let storeLatency: (op: string, seconds: number) => void = () => {};
  const node: ClusterNode | undefined = clusterConfig
    ? createClusterNode({
        config: clusterConfig,
        port: server.port,
        version: packageVersion,
        clock: system.clock,
        logger: system.log,
        system,
        // the metrics actor starts with the serving layer, after the node's stores exist
        storeLatency: (op, seconds) => storeLatency(op, seconds),
        ...(server.responsesMaxStored !== undefined ? { responsesMaxStored: server.responsesMaxStored } : {}),
      })
    : undefined;
  // the Responses API's stored responses: in Redis on a cluster node, else in this process
  const responses = {
    store:
      node?.responses ??
      new MemoryResponseStore({ maxStored: server.responsesMaxStored ?? serverDefaults.responsesMaxStored }),
    ttlMs: (server.responsesTtlS ?? serverDefaults.responsesTtlS) * 1000,
  };
  // counted once, when a replica that needs GPUs is first placed here (docs/configuration.md, `gpus`)
  let gpusFound: Promise<number> | undefined;
  const countGpus = () => {
    gpusFound ??= detectGpus().then((found) => {
      if (found.error) system.log.warn({ error: found.error }, "GPU detection failed: counting no GPU");
      else
        system.log.info(
          { gpus: found.count, backend: found.backend, devices: found.devices },
          "GPUs counted",
        );
      return found.count;
    });
    return gpusFound;
  };
  /** This node's share of the shared placement (docs/cluster.md, "Placement"). */
  let assigned: ReadonlyMap<string, ReadonlySet<number>> = new Map();
  const serving = startServing({
    system,
    registry: node ? node.runtimes(registry) : registry,
    detectGpus: countGpus,
    requestTimeoutMs: server.requestTimeoutMs,
    ...(options.random ? { random: options.random } : {}),
    ...(node
      ? {
          nodeId: node.nodeId,
          ...node.stores,
          egress: clusterConfig?.egress ?? true,
          placedRuntimes: PLACED_RUNTIMES,
          placedSlots: clusterConfig?.modelSlots ?? DEFAULT_MODEL_SLOTS,
          replaceTurn: ({ deployment }: ReplaceRequest) => node.replaceTurn(deployment),
        }
      : {}),
    ...(clusterConfig?.modelSlots === undefined ? {} : { modelSlots: clusterConfig.modelSlots }),
  });
  storeLatency = (op, seconds) => serving.metrics.tell({ type: "store-latency", op, seconds });
  // with several requests in flight, their store calls share Redis commands (docs/cluster.md)
  node?.holdStoreCallsWhen(() => serving.service.inFlight >= BUSY_IN_FLIGHT);
  // rakka_store_available follows the node's shared store (lost, back)
  node?.onStoreState((state) =>
    serving.metrics.tell({ type: "store-available", available: state === "available" }),
  );
  // a cluster node's deployments follow the shared catalog (docs/cluster.md, "One catalog"); its
  // manager keeps no catalog of its own, so no node overwrites the shared records with local state
  const catalog = node?.openCatalog<DeploymentStatus>({
    runtimes: registry,
    local: {
      apply: (deployment) => serving.apply(deployment),
      remove: (name) => serving.remove(name),
      served: async () =>
        (await serving.deployments())
          .filter((status) => status.state !== "draining" && status.state !== "removed")
          .map((status) => status.name),
    },
    ...(options.secrets ? { secrets: options.secrets } : {}),
  });
  const clusterStatus = (): ClusterStatus | undefined => {
    const view = node?.view();
    if (!view || !node || !clusterConfig) return undefined;
    return { ...view, onStoreUnavailable: clusterConfig.onStoreUnavailable, unplaced: node.unplaced() };
  };
  /** What each heartbeat reports: in-process state only (no store call: no spend, no circuits). */
  const nodeReport = async () => {
    const [statuses, live] = await Promise.all([
      serving.deployments(),
      serving.metrics.ask<ReadonlyMap<string, DeploymentSnapshot>>(
        (replyTo) => ({ type: "snapshot", replyTo }),
        {
          timeoutMs: 10_000,
        },
      ),
    ]);
    const modelSlots = clusterConfig?.modelSlots ?? DEFAULT_MODEL_SLOTS;
    const placed = statuses.filter((status) => PLACED_RUNTIMES.includes(status.runtime));
    // GPUs are counted once a deployment that needs them is to be placed, on a node that may hold one
    let freeGpus: number | undefined;
    if (modelSlots > 0 && (gpusFound || placed.some((status) => status.gpus > 0))) {
      let held = 0;
      for (const status of placed) held += status.gpus * (assigned.get(status.name)?.size ?? 0);
      freeGpus = Math.max(0, (await countGpus()) - held);
    }
    return {
      replicas: statuses
        .filter((status) => status.readyReplicas > 0)
        .map((status) => ({
          deployment: status.name,
          running: live.get(status.name)?.running ?? 0,
          waiting: live.get(status.name)?.waiting ?? 0,
        })),
      inFlight: serving.service.inFlight,
      modelSlots,
      ...(await modelFiles(placed.map((status) => status.model))),
      ...(freeGpus === undefined ? {} : { freeGpus }),
    };
  };
  /** The coordinator's side of the shared routing table (docs/cluster.md, "Forwarding"). */
  const nodeRouting = {
    localTargets: () =>
      serving.coordinator.ask<readonly EngineTargetLoad[]>(
        (replyTo) => ({ type: "local-targets", replyTo }),
        {
          timeoutMs: 10_000,
        },
      ),
    onPeers: (targets: readonly PeerRouteTarget[]) =>
      serving.coordinator.tell({ type: "peer-targets", targets }),
  };
  /** The serving layer's side of the shared placement of llama replicas (docs/cluster.md, "Placement"). */
  const placedDeployments = async () =>
    (await serving.deployments()).filter(
      (status) =>
        PLACED_RUNTIMES.includes(status.runtime) && status.state !== "draining" && status.state !== "removed",
    );
  const nodePlacement = {
    demands: async () =>
      (await placedDeployments()).map((status) => ({
        deployment: status.name,
        model: status.model,
        replicas: status.replicas,
        ...(status.gpus > 0 ? { gpus: status.gpus } : {}),
      })),
    reports: async () =>
      (await placedDeployments())
        .flatMap((status) =>
          [...(assigned.get(status.name) ?? [])].map((index) => {
            const replica = status.localReplicas?.find((local) => local.index === index);
            if (replica) {
              const state = replica.ready ? "ready" : replica.waiting ? "waiting" : "starting";
              return { deployment: status.name, index, state } as const;
            }
            return {
              deployment: status.name,
              index,
              state: "failed",
              reason: status.reason ?? "the replica is not running",
            } as const;
          }),
        )
        .map((report) => ({ ...report, reportedAt: system.clock.now() })),
    onAssignments: (assignments: ReadonlyMap<string, ReadonlySet<number>>) => {
      assigned = assignments;
      serving.placementChanged(assignments);
    },
  };
  const gateways: ListeningGateway[] = [];
  let closed: Promise<void> | undefined;

  const toSpec = (input: DeploymentInput | DeploymentSpec): DeploymentSpec => {
    if (isSpec(input)) return input;
    const validated = DeploymentValidator.validate(input, {
      runtimes: registry,
      ...(options.secrets ? { secrets: options.secrets } : {}),
    });
    if (!validated.ok) throw errors.badRequest(`invalid deployment:\n${formatProblems(validated.problems)}`);
    return validated.value;
  };
  const parse = (body: ChatRequestBody) => {
    const parsed = parseChatRequest(body);
    if (!parsed.ok) throw parsed.error;
    return parsed.request;
  };

  const inferenceSystem: InferenceSystem = {
    serving,
    server,
    cluster: clusterStatus,
    async apply(input) {
      let result: Awaited<ReturnType<typeof serving.apply>>;
      if (catalog) {
        const written = await catalog.apply(tableOf(input), toSpec(input));
        if (written.type === "invalid")
          throw errors.badRequest(`invalid deployment:\n${formatProblems(written.problems)}`);
        if (written.type === "conflict")
          throw errors.unavailable(`catalog version ${written.currentVersion} kept changing; try again`);
        result = written.result;
      } else result = await serving.apply(toSpec(input));
      if (result.status) return result.status;
      throw errors.unavailable(result.ok ? "apply failed" : result.reason);
    },
    async remove(name) {
      const result = await (catalog ? catalog.remove(name) : serving.remove(name));
      if (!result.ok) throw errors.notFound(result.reason);
    },
    complete: async (body, requestOptions) => serving.service.complete(parse(body), requestOptions),
    stream(body, requestOptions) {
      try {
        return serving.service.start({ ...parse(body), stream: true }, requestOptions).chunks;
      } catch (error) {
        return {
          [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
        };
      }
    },
    deployments: () => serving.deployments(),
    async listen(listenOptions = {}) {
      const admin = server.adminKey
        ? createAdminRoutes({
            adminKey: server.adminKey,
            service: serving.admin(server.adminSecretSources, server.adminAllowedHosts, catalog),
            ...(node ? { cluster: clusterStatus, placement: () => node.placement() } : {}),
          })
        : undefined;
      const dialectDeps: DialectDeps = { service: serving.service, clock: system.clock, responses };
      const gateway = createHttpGateway({
        service: serving.service,
        server,
        clock: system.clock,
        logger: system.log,
        dialects: servedDialects(dialectDeps),
        // one client id per key across the cluster (stored responses are shared through Redis)
        ...(clusterConfig ? { clientIdKey: `rakka-client-id:${clusterConfig.nodeKey.reveal()}` } : {}),
        routes: servedRoutes(dialectDeps),
        ...(admin ? { admin } : {}),
        ...(node
          ? {
              cluster: clusterStatus,
              internal: node.peerRoutes((work) => serving.executeLocal(work)),
            }
          : {}),
      });
      const bind = listenOptions.bind ?? `${server.host}:${server.port}`;
      const separator = bind.lastIndexOf(":");
      const host = bind.slice(0, separator).replace(/^\[|\]$/g, "") || "127.0.0.1";
      const listening = await gateway.listen(host, Number(bind.slice(separator + 1)));
      gateways.push(listening);
      if (node && gateways.length === 1)
        await node.join(listening.url, nodeReport, nodeRouting, nodePlacement);
      return listening;
    },
    close(closeOptions = {}) {
      closed ??= (async () => {
        await catalog?.stop();
        const drainTimeoutMs = closeOptions.drainTimeoutMs ?? server.drainTimeoutMs;
        // a cluster node's llama replicas move to other nodes first, serving here until they are
        // ready there (docs/cluster.md, "Placement")
        if (node && gateways.length > 0 && drainTimeoutMs > 0) await node.handOver(drainTimeoutMs);
        const drainDelayMs = closeOptions.drainDelayMs ?? server.drainDelayMs;
        if (gateways.length > 0 && drainDelayMs > 0) {
          for (const gateway of gateways) gateway.beginDrain();
          system.log.info({ drainDelayMs }, "draining: /readyz answers 503 while requests are still served");
          await new Promise<void>((resolve) => system.clock.setTimer(drainDelayMs, resolve));
        }
        const startedAt = system.clock.now();
        serving.service.stopAccepting();
        await Promise.all(gateways.map((gateway) => gateway.stopAccepting()));
        const { ended } = await serving.service.drain(drainTimeoutMs);
        if (ended > 0) {
          system.log.warn(
            { ended, drainTimeoutMs },
            "drain timeout: ended the requests still running with unavailable",
          );
        }
        // the last responses are still being written: wait for their connections, within the
        // budget; answers written at the drain deadline get a short real-time grace to flush
        const left = drainTimeoutMs - (system.clock.now() - startedAt);
        if (gateways.length > 0 && (left > 0 || ended > 0)) {
          const idle = Promise.all(gateways.map((gateway) => gateway.whenIdle()));
          if (left > 0) await settledWithin(system.clock, left, idle);
          else await settledWithin(systemClock, FLUSH_GRACE_MS, idle);
        }
        await Promise.all(gateways.map((gateway) => gateway.close()));
        // leave the cluster before the actors stop: a heartbeat in flight asks them for its report
        await node?.close();
        await system.terminate();
      })();
      return closed;
    },
  };
  try {
    // in a cluster the startup rule decides: the catalog keeps its version of a deployment it has
    if (catalog)
      await catalog.start(
        (options.deployments ?? []).map((input) => ({ table: tableOf(input), deployment: toSpec(input) })),
      );
    else for (const deployment of options.deployments ?? []) await inferenceSystem.apply(deployment);
  } catch (error) {
    // nothing started here outlives a failed start: actors, the Redis connections, their timers
    await inferenceSystem.close({ drainTimeoutMs: 0, drainDelayMs: 0 }).catch(() => {});
    throw error;
  }
  return inferenceSystem;
}
