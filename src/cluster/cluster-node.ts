// A process as one node of a cluster (docs/cluster.md): one Redis connection made from
// `[cluster] redis_url`, the Redis stores every engine and the budget share through it, and this
// node's membership (heartbeats). The package entry builds it when the config has a [cluster]
// table and hands the stores to the serving layer; nothing else changes between one process and N.
// Its deployments follow the shared catalog through a CatalogSync (openCatalog); its engine
// targets go to the shared routing table, and the other nodes' come back as peer targets that
// forward over HTTP (docs/cluster.md, "Forwarding"); it serves their forwarded requests through
// peerRoutes. Each store is a failover store: while Redis is unreachable it answers per
// on_store_unavailable.

import { hostname } from "node:os";
import type { Redis } from "ioredis";
import type { ActorSystem, Clock, Logger } from "../actor/index.js";
import type { ClusterConfig } from "../core/config/cluster-schema.js";
import type { InternalRoutes } from "../core/internal-routes.js";
import type { SecretEnvironment } from "../core/secret.js";
import type { CircuitStateStore, RateLimitStore, SpendLedger } from "../core/stores/index.js";
import type { ResponseStore } from "../core/stores/response-store.js";
import type { EngineWork } from "../protocol/engine-messages.js";
import type { RuntimeRegistry } from "../protocol/runtime-registry.js";
import type { EngineTargetLoad } from "../protocol/target-load.js";
import { createCatalogCipher } from "./catalog-secrets.js";
import { CatalogSync, type LocalServing } from "./catalog-sync.js";
import { FailoverCircuitStateStore } from "./failover-circuit-state-store.js";
import { FailoverRateLimitStore } from "./failover-rate-limit-store.js";
import { FailoverSpendLedger } from "./failover-spend-ledger.js";
import { Membership, type MembershipView, type NodeReport } from "./membership.js";
import { createPeerRoutes } from "./peer-endpoint.js";
import { PeerEngines, type PeerTarget } from "./peer-engines.js";
import { PlacementLease } from "./placement-lease.js";
import { PlacementSync, type PlacementSyncOptions } from "./placement-sync.js";
import { RedisCircuitStateStore } from "./redis-circuit-state-store.js";
import { createRedisConnection } from "./redis-connection.js";
import { RedisDeploymentCatalog } from "./redis-deployment-catalog.js";
import { redisNoticeChannel } from "./redis-notice-channel.js";
import { type PlacementSnapshot, RedisPlacementStore, type StoredUnplaced } from "./redis-placement-store.js";
import { RedisRateLimitStore } from "./redis-rate-limit-store.js";
import { RedisResponseStore } from "./redis-response-store.js";
import { RedisRoutingTable } from "./redis-routing-table.js";
import { scriptBatcherFor } from "./redis-script-batch.js";
import { RedisSpendLedger } from "./redis-spend-ledger.js";
import { isReplaceTurn } from "./replace-turn.js";
import { RoutingSync } from "./routing-sync.js";
import { StoreAvailability, type StoreState } from "./store-availability.js";
import { StoreFailover } from "./store-failover.js";
import { UnresolvedDeployments } from "./unresolved-deployments.js";

export interface ClusterNodeOptions {
  readonly config: ClusterConfig;
  /** The port from [server] bind: the default node id is `<hostname>-<port>` (the pid for port 0). */
  readonly port: number;
  readonly version: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where the node's peer engines (one per other node) are spawned. */
  readonly system: ActorSystem;
  /** Told each shared-store round trip's duration, for `rakka_store_latency_seconds{op}`. */
  readonly storeLatency?: (op: string, seconds: number) => void;
  /** `[server] responses_max_stored`: the most stored responses the cluster keeps. */
  readonly responsesMaxStored?: number;
}

export interface ClusterNode {
  readonly nodeId: string;
  /** The shared stores, handed to the serving layer in place of the memory ones. */
  readonly stores: {
    readonly rateLimits: RateLimitStore;
    readonly circuits: CircuitStateStore;
    readonly ledger: SpendLedger;
  };
  /**
   * The Responses API's stored responses, shared by every node (one expiring key per response);
   * while Redis is unreachable its calls fail, answered as 503 `unavailable` (docs/api.md).
   */
  readonly responses: ResponseStore;
  /**
   * The entry calls this once the gateway listens (`url`: where it listens): the first heartbeat
   * is written before it resolves, then one every heartbeat_ms. `report` is asked before each;
   * `routing` gives this node's engine targets to the shared routing table at each heartbeat and
   * takes the other nodes' (with peer engines) after each refresh.
   */
  join(
    url: string,
    report: () => Promise<NodeReport> | NodeReport,
    routing: NodeRouting,
    placement: NodePlacement,
  ): Promise<void>;
  /** Whether this node held the placement lease at its last heartbeat. */
  holdsPlacementLease(): boolean;
  /**
   * Graceful shutdown, before the drain: the heartbeat says this node is draining, placement moves
   * its llama replicas to other nodes, and each keeps serving here until its replacement is ready
   * there (docs/cluster.md, "Placement"). Resolves once none is left here, or after `timeoutMs`.
   */
  handOver(timeoutMs: number): Promise<void>;
  /**
   * For the admin API's cluster status (docs/cluster.md, "Placement"): the plan and every live
   * replica report, and the lease holder, read from Redis on each call. Rejects when Redis cannot
   * answer, with a message that names no secret.
   */
  placement(): Promise<PlacementStatus>;
  /**
   * The gateway's `/internal/` handler: runs the requests other nodes forward here through
   * `execute` (this node's own engines only), refused without the node key.
   */
  peerRoutes(execute: (work: EngineWork) => void): InternalRoutes;
  /**
   * The package entry hands the serving layer this wrapping of its registry: a deployment the
   * catalog sync could not resolve here fails to start its replicas, with the reason.
   */
  runtimes(registry: RuntimeRegistry): RuntimeRegistry;
  /**
   * The package entry calls this once, after the serving layer started: the sync of this node's
   * deployments with the shared catalog (docs/cluster.md, "One catalog"), not yet started.
   */
  openCatalog<S>(options: CatalogOptions<S>): CatalogSync<S>;
  /** The last heartbeat round's view; undefined before join. Read by /readyz and the admin API. */
  view(): MembershipView | undefined;
  /** The replicas the placement could not place, with the reasons, as last read (for /readyz). */
  unplaced(): readonly StoredUnplaced[];
  /** Whether this node may now replace its replica of `deployment` in place (src/cluster/replace-turn.ts). */
  replaceTurn(deployment: string): boolean;
  /**
   * The entry calls this for `rakka_store_available`: `listener` gets the store's state now and
   * after every change (Redis lost, Redis back).
   */
  onStoreState(listener: (state: StoreState) => void): void;
  /**
   * The entry hands over its load signal once serving started: while it answers true, the node's
   * store calls wait a millisecond to share one Redis command (docs/cluster.md, "Round trips").
   */
  holdStoreCallsWhen(busy: () => boolean): void;
  /** At shutdown, after the drain: leaves the membership and closes the connection. */
  close(): Promise<void>;
}

/** The shared placement as cluster status shows it: the snapshot, and who holds the lease. */
export interface PlacementStatus extends PlacementSnapshot {
  /** The node id holding the placement lease; undefined when none does. */
  readonly leaseHolder: string | undefined;
}

/** How the node's router and the shared routing table meet (docs/cluster.md, "Forwarding"). */
export interface NodeRouting {
  /** This node's engine targets and their load now (the coordinator's own). */
  localTargets(): Promise<readonly EngineTargetLoad[]>;
  /** The other live nodes' targets, each with the peer engine that forwards to its node. */
  onPeers(targets: readonly PeerTarget[]): void;
}

/** How the node's serving layer and the shared placement meet (docs/cluster.md, "Placement"). */
export type NodePlacement = Pick<PlacementSyncOptions, "demands" | "reports" | "onAssignments">;

/** What the catalog sync needs from the package entry. */
export interface CatalogOptions<S> {
  /** This node's serving layer: apply, remove, and what it serves. */
  readonly local: LocalServing<S>;
  /** The runtime schemas each catalog table is validated with (the unwrapped registry will do). */
  readonly runtimes: RuntimeRegistry;
  /** Where secret sources are resolved (default: the process's environment and files). */
  readonly secrets?: SecretEnvironment;
}

export function createClusterNode(options: ClusterNodeOptions): ClusterNode {
  const { config, logger } = options;
  const nodeId = config.nodeId ?? `${hostname()}-${options.port === 0 ? process.pid : options.port}`;
  let lastError = "";
  const client: Redis = createRedisConnection(config.redisUrl.reveal(), {
    connectionName: `rakka-${nodeId}`,
    onError: (error) => {
      // ioredis repeats the error on every reconnect attempt: log each distinct one once
      if (error.message === lastError) return;
      lastError = error.message;
      logger.debug({ error: error.message }, "cluster store connection error");
    },
  });
  client.on("ready", () => {
    lastError = "";
  });
  const availability = new StoreAvailability(logger);
  availability.watch(client);
  let membership: Membership | undefined;
  const failover = new StoreFailover({
    availability,
    mode: config.onStoreUnavailable,
    liveNodes: () => membership?.view().nodes.length ?? 1,
    clock: options.clock,
    ...(options.storeLatency ? { latency: options.storeLatency } : {}),
    onWriteBackDropped: (error) =>
      logger.warn(
        { error: error.message },
        "a write buffered during the Redis outage was refused and dropped",
      ),
  });
  const prefix = config.keyPrefix;
  const stores = {
    rateLimits: new FailoverRateLimitStore(new RedisRateLimitStore({ client, prefix }), failover),
    circuits: new FailoverCircuitStateStore(new RedisCircuitStateStore({ client, prefix }), failover),
    ledger: new FailoverSpendLedger(new RedisSpendLedger({ client, prefix }), failover),
  };
  const unresolved = new UnresolvedDeployments();
  let catalogSync: CatalogSync<unknown> | undefined;
  let routingSync: RoutingSync | undefined;
  let placementSync: PlacementSync | undefined;
  let draining = false;
  /** The other nodes' live, non-draining targets in this node's routing copy, and its own. */
  let peerRoutes: readonly PeerTarget[] = [];
  let ownRoutes: readonly string[] = [];
  const peers = new PeerEngines({ system: options.system, nodeKey: config.nodeKey.reveal(), logger });
  const placementStore = new RedisPlacementStore({ client, prefix });
  const placementLease = new PlacementLease({ client, prefix, nodeId, ttlMs: config.nodeTimeoutMs });
  return {
    nodeId,
    stores,
    responses: new RedisResponseStore({
      client,
      prefix,
      ...(options.responsesMaxStored !== undefined ? { maxStored: options.responsesMaxStored } : {}),
    }),
    runtimes: (registry) => unresolved.guard(registry),
    openCatalog<S>(catalogOptions: CatalogOptions<S>) {
      const sync = new CatalogSync<S>({
        catalog: new RedisDeploymentCatalog({ client, prefix }),
        channel: redisNoticeChannel(client, prefix, "catalog", logger),
        cipher: createCatalogCipher(config.nodeKey.reveal()),
        unresolved,
        clock: options.clock,
        logger,
        ...catalogOptions,
      });
      catalogSync = sync as CatalogSync<unknown>;
      return sync;
    },
    peerRoutes: (execute) =>
      createPeerRoutes({ nodeKey: config.nodeKey, execute, clock: options.clock, logger }),
    holdsPlacementLease: () => placementSync?.holdsLease ?? false,
    unplaced: () => placementSync?.unplaced ?? [],
    replaceTurn: (deployment) => isReplaceTurn(deployment, nodeId, placementSync?.reports ?? []),
    async handOver(timeoutMs) {
      if (!placementSync) return;
      draining = true;
      const handedOver = placementSync.handOver(timeoutMs, options.clock);
      logger.info({ nodeId, timeoutMs }, "handing this node's replicas over to other nodes");
      await handedOver;
    },
    async placement() {
      try {
        const [snapshot, leaseHolder] = await Promise.all([
          placementStore.snapshot(),
          placementLease.holder(),
        ]);
        return { ...snapshot, leaseHolder };
      } catch (error) {
        throw new Error(redactSecrets((error as Error).message, [config.redisUrl, config.nodeKey]));
      }
    },
    async join(url, report, routing, placement) {
      const liveNodes = () => membership?.view().nodes ?? [];
      const sync = new RoutingSync({
        table: new RedisRoutingTable({ client, prefix }),
        channel: redisNoticeChannel(client, prefix, "routing", logger),
        nodeId,
        clock: options.clock,
        logger,
        onPeers: (targets) => {
          const attached = peers.attach(targets, liveNodes());
          peerRoutes = attached.filter((target) => !target.draining);
          routing.onPeers(attached);
        },
      });
      routingSync = sync;
      await sync.start();
      const placing = new PlacementSync({
        nodeId,
        lease: placementLease,
        store: placementStore,
        channel: redisNoticeChannel(client, prefix, "placement", logger),
        logger,
        reportTtlMs: config.nodeTimeoutMs,
        // every other live node's routing copy (at its last heartbeat) reaches `deployment` on a
        // node that is not this one
        routedElsewhere: (deployment) =>
          liveNodes().every(
            (record) =>
              record.nodeId === nodeId ||
              (record.routes?.[deployment] ?? []).some((owner) => owner !== nodeId),
          ),
        ...placement,
      });
      placementSync = placing;
      await placing.start();
      // each heartbeat also syncs the routing table (in the same Redis batch, mostly)
      const syncRoutes = async () => {
        // before the first heartbeat landed the view is empty: that says nothing about who is alive
        const view = liveNodes();
        const live = view.length === 0 ? undefined : new Set([nodeId, ...view.map((node) => node.nodeId)]);
        // replica ids are unique per node only: the shared table keys each by its node too
        const targets = await routing.localTargets();
        ownRoutes = targets.filter((target) => !target.draining).map((target) => target.deployment);
        const local = targets.map((target) => ({
          ...target,
          targetId: `${nodeId}/${target.targetId}`,
        }));
        await sync.sync(local, live);
      };
      // The routing and placement rounds of a heartbeat run beside it, never before it: a slow
      // round (Redis, a model loading on this CPU) must not delay the heartbeat past
      // node_timeout_ms. A round still running when the next heartbeat comes is not doubled.
      let roundsRunning = false;
      const startRounds = () => {
        if (roundsRunning) return;
        roundsRunning = true;
        void Promise.all([syncRoutes().catch(() => {}), placing.tick(liveNodes())]).finally(() => {
          roundsRunning = false;
        });
      };
      const reportAndSync = async () => {
        startRounds();
        const nodeReport = await report();
        const routes: Record<string, string[]> = {};
        const reach = (deployment: string, owner: string) => {
          const owners = routes[deployment] ?? [];
          if (!owners.includes(owner)) owners.push(owner);
          routes[deployment] = owners;
        };
        for (const deployment of ownRoutes) reach(deployment, nodeId);
        for (const target of peerRoutes) reach(target.deployment, target.nodeId);
        return { ...nodeReport, routes, ...(draining ? { draining: true } : {}) };
      };
      membership = new Membership({
        client,
        prefix,
        nodeId,
        url: config.advertiseUrl ?? advertisable(url),
        version: options.version,
        heartbeatMs: config.heartbeatMs,
        nodeTimeoutMs: config.nodeTimeoutMs,
        clock: options.clock,
        logger,
        report: reportAndSync,
        availability,
      });
      await membership.start();
      // the first heartbeat read the live nodes: route and place with them now, not a beat later
      await Promise.all([syncRoutes().catch(() => {}), placing.tick(liveNodes())]);
      logger.info({ nodeId, nodes: membership.view().nodes.length }, "joined the cluster");
    },
    view: () => membership?.view(),
    holdStoreCallsWhen: (busy) => scriptBatcherFor(client).holdWhen(busy),
    onStoreState(listener) {
      listener(availability.state);
      availability.onChange(listener);
    },
    async close() {
      await catalogSync?.stop();
      await routingSync?.stop();
      await placementSync?.stop();
      await peers.close();
      await membership?.stop();
      availability.close();
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/**
 * A store error's message with the cluster's secrets (the Redis URL and its password, the node
 * key) replaced, for answers that leave the node (docs/operations.md: no response holds a secret).
 */
export function redactSecrets(message: string, secrets: ReadonlyArray<{ reveal(): string }>): string {
  let out = message;
  for (const secret of secrets) {
    const value = secret.reveal();
    const parts = [value];
    try {
      const url = new URL(value);
      if (url.password !== "") parts.push(decodeURIComponent(url.password), url.password);
    } catch {
      // not a URL: the value alone
    }
    for (const part of parts) if (part !== "") out = out.split(part).join("[redacted]");
  }
  return out;
}

/** The listening URL as other nodes can use it: a wildcard host becomes this machine's name. */
function advertisable(url: string): string {
  return url.replace(/^http:\/\/(0\.0\.0\.0|\[::\])(?=:)/, `http://${hostname()}`);
}
