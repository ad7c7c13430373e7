// SpendLedger of a cluster node that outlives a Redis outage (docs/cluster.md, "When Redis is
// unavailable"): the Redis ledger while the store is available; while it is not, a memory ledger
// where each budget is this node's share of what was left, (limit − last known spend and
// reservations) ÷ live nodes at the last heartbeat. Spend recorded meanwhile is buffered and
// written back to Redis on reconnect, so the cluster's budgets and GET /admin/v1/spend see it.

import { MemorySpendLedger } from "../core/stores/memory-spend-ledger.js";
import {
  type SpendLedger,
  type SpendLimits,
  type SpendReservation,
  type SpendTotals,
  utcDayStart,
  utcHourStart,
} from "../core/stores/spend-ledger.js";
import type { StoreFailover } from "./store-failover.js";

/** A deployment's totals as Redis last gave them (kept up to date with this node's own settles). */
interface KnownTotals {
  hourStart: number;
  dayStart: number;
  hourUsd: number;
  dayUsd: number;
  reservedUsd: number;
}

/** A reservation this node handed out and has not ended yet. */
interface OpenReservation {
  readonly deployment: string;
  readonly usd: number;
  /** Set when it was made in memory during an outage: that ledger and its id there. */
  readonly local?: { readonly ledger: MemorySpendLedger; readonly id: string };
}

/** A write made during the outage, replayed on reconnect in order. */
type BufferedWrite =
  | { readonly type: "record"; readonly deployment: string; readonly usd: number; readonly now: number }
  | {
      readonly type: "settle";
      readonly reservationId: string;
      readonly deployment: string;
      readonly usd: number;
      readonly now: number;
    }
  | { readonly type: "release"; readonly reservationId: string };

const LOCAL_ID = "local:";

export class FailoverSpendLedger implements SpendLedger {
  readonly #shared: SpendLedger;
  readonly #failover: StoreFailover;
  readonly #known = new Map<string, KnownTotals>();
  readonly #open = new Map<string, OpenReservation>();
  #buffer: BufferedWrite[] = [];
  /** This outage's spend and reservations on this node; a fresh one per outage. */
  #outage = new MemorySpendLedger();
  #nextLocalId = 1;
  #writingBack: Promise<void> = Promise.resolve();

  /** The cluster node wraps its RedisSpendLedger in one; the budget check uses it as any ledger. */
  constructor(shared: SpendLedger, failover: StoreFailover) {
    this.#shared = shared;
    this.#failover = failover;
    failover.availability.onChange((state) => {
      if (state === "available") this.#writingBack = this.#writingBack.then(() => this.#writeBack());
      else this.#outage = new MemorySpendLedger();
    });
  }

  /** Spend and releases written during the outage and not yet in Redis (tests and the write-back). */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Resolves once the write-back started by the last reconnect has ended. */
  flushed(): Promise<void> {
    return this.#writingBack;
  }

  reserve(deployment: string, usd: number, now: number): Promise<string> {
    return this.#failover.admit(
      "spend.reserve",
      async () => {
        const id = await this.#shared.reserve(deployment, usd, now);
        this.#open.set(id, { deployment, usd });
        this.#addKnown(deployment, now, 0, usd);
        return id;
      },
      async () =>
        this.#reserveLocal(deployment, usd, {}, now).then((reservation) => {
          if (!reservation.granted) throw new Error("an unlimited reservation was refused");
          return reservation.reservationId;
        }),
    );
  }

  reserveWithin(
    deployment: string,
    usd: number,
    limits: SpendLimits,
    now: number,
  ): Promise<SpendReservation> {
    return this.#failover.admit(
      "spend.reserve_within",
      async () => {
        const reservation = await this.#shared.reserveWithin(deployment, usd, limits, now);
        this.#setKnown(deployment, reservation.totals, now);
        if (reservation.granted) {
          this.#open.set(reservation.reservationId, { deployment, usd });
          this.#addKnown(deployment, now, 0, usd);
        }
        return reservation;
      },
      () => this.#reserveLocal(deployment, usd, this.#shareOf(deployment, limits, now), now),
    );
  }

  async settle(reservationId: string, actualUsd: number, now: number): Promise<boolean> {
    const open = this.#open.get(reservationId);
    if (open?.local !== undefined) {
      // made in memory: Redis never saw it, so its spend is a plain record there
      this.#open.delete(reservationId);
      await open.local.ledger.release(open.local.id);
      await this.record(open.deployment, actualUsd, now);
      return true;
    }
    return this.#failover.serve(
      "spend.settle",
      async () => {
        const settled = await this.#shared.settle(reservationId, actualUsd, now);
        if (open !== undefined) {
          this.#open.delete(reservationId);
          this.#addKnown(open.deployment, now, actualUsd, -open.usd);
        }
        return settled;
      },
      async () => {
        // not one this node handed out: nothing to replay it against
        if (open === undefined) return false;
        this.#open.delete(reservationId);
        // its estimate was part of the last known reservations; its actual spend now counts here
        this.#addKnown(open.deployment, now, 0, -open.usd);
        await this.#outage.record(open.deployment, actualUsd, now);
        this.#buffer.push({
          type: "settle",
          reservationId,
          deployment: open.deployment,
          usd: actualUsd,
          now,
        });
        return true;
      },
    );
  }

  async release(reservationId: string): Promise<boolean> {
    const open = this.#open.get(reservationId);
    this.#open.delete(reservationId);
    if (open?.local !== undefined) return open.local.ledger.release(open.local.id);
    return this.#failover.serve(
      "spend.release",
      async () => {
        if (open !== undefined) this.#addKnown(open.deployment, this.#failover.clock.now(), 0, -open.usd);
        return this.#shared.release(reservationId);
      },
      () => {
        if (open !== undefined) this.#addKnown(open.deployment, this.#failover.clock.now(), 0, -open.usd);
        this.#buffer.push({ type: "release", reservationId });
        return true;
      },
    );
  }

  record(deployment: string, usd: number, now: number): Promise<void> {
    return this.#failover.serve(
      "spend.record",
      async () => {
        await this.#shared.record(deployment, usd, now);
        this.#addKnown(deployment, now, usd, 0);
      },
      async () => {
        await this.#outage.record(deployment, usd, now);
        this.#buffer.push({ type: "record", deployment, usd, now });
      },
    );
  }

  totals(deployment: string, now: number): Promise<SpendTotals> {
    return this.#failover.serve(
      "spend.totals",
      async () => {
        const totals = await this.#shared.totals(deployment, now);
        this.#setKnown(deployment, totals, now);
        return totals;
      },
      // the last known cluster totals plus this node's spend since
      async () => sum(this.#knownAt(deployment, now), await this.#outage.totals(deployment, now)),
    );
  }

  listDeployments(): Promise<string[]> {
    return this.#failover.serve(
      "spend.list_deployments",
      () => this.#shared.listDeployments(),
      async () => [...new Set([...this.#known.keys(), ...(await this.#outage.listDeployments())])].sort(),
    );
  }

  /** A reservation in this outage's memory ledger, within `limits` (already this node's share). */
  async #reserveLocal(
    deployment: string,
    usd: number,
    limits: SpendLimits,
    now: number,
  ): Promise<SpendReservation> {
    const ledger = this.#outage;
    const reservation = await ledger.reserveWithin(deployment, usd, limits, now);
    const known = this.#knownAt(deployment, now);
    if (!reservation.granted) return { ...reservation, totals: sum(known, reservation.totals) };
    const id = `${LOCAL_ID}${this.#nextLocalId++}`;
    this.#open.set(id, { deployment, usd, local: { ledger, id: reservation.reservationId } });
    return { granted: true, reservationId: id, totals: sum(known, reservation.totals) };
  }

  /** This node's share of each limit: (limit − last known spend and reservations) × 1 / live nodes. */
  #shareOf(deployment: string, limits: SpendLimits, now: number): SpendLimits {
    const known = this.#knownAt(deployment, now);
    const share = this.#failover.share();
    const left = (limit: number | undefined, used: number) =>
      limit === undefined ? undefined : Math.max(0, limit - used) * share;
    return {
      maxHourUsd: left(limits.maxHourUsd, known.hourUsd + known.reservedUsd),
      maxDayUsd: left(limits.maxDayUsd, known.dayUsd + known.reservedUsd),
    };
  }

  #setKnown(deployment: string, totals: SpendTotals, now: number): void {
    this.#known.set(deployment, {
      hourStart: utcHourStart(now),
      dayStart: utcDayStart(now),
      hourUsd: totals.hourUsd,
      dayUsd: totals.dayUsd,
      reservedUsd: totals.reservedUsd,
    });
  }

  /** Keeps the last known totals current with this node's own writes (spend, reservations). */
  #addKnown(deployment: string, now: number, spentUsd: number, reservedUsd: number): void {
    const known = this.#knownAt(deployment, now);
    this.#setKnown(
      deployment,
      {
        hourUsd: known.hourUsd + spentUsd,
        dayUsd: known.dayUsd + spentUsd,
        reservedUsd: Math.max(0, known.reservedUsd + reservedUsd),
      },
      now,
    );
  }

  /** The last known totals as they stand at `now`: a window that has ended since counts nothing. */
  #knownAt(deployment: string, now: number): SpendTotals {
    const known = this.#known.get(deployment);
    if (known === undefined) return { hourUsd: 0, dayUsd: 0, reservedUsd: 0 };
    return {
      hourUsd: known.hourStart === utcHourStart(now) ? known.hourUsd : 0,
      dayUsd: known.dayStart === utcDayStart(now) ? known.dayUsd : 0,
      reservedUsd: known.reservedUsd,
    };
  }

  /** On reconnect: every buffered write, in order; one that meets Redis down again waits for the next reconnect. */
  async #writeBack(): Promise<void> {
    while (this.#buffer.length > 0) {
      const write = this.#buffer[0] as BufferedWrite;
      const landed = await this.#failover.writeBack(async () => {
        switch (write.type) {
          case "record":
            return this.#shared.record(write.deployment, write.usd, write.now);
          case "settle":
            // a reservation Redis no longer holds (a restarted server, an expiry) still spent the money
            if (!(await this.#shared.settle(write.reservationId, write.usd, write.now)))
              await this.#shared.record(write.deployment, write.usd, write.now);
            return;
          case "release":
            return this.#shared.release(write.reservationId);
        }
      });
      if (!landed) return;
      this.#buffer.shift();
    }
  }
}

function sum(a: SpendTotals, b: SpendTotals): SpendTotals {
  return {
    hourUsd: a.hourUsd + b.hourUsd,
    dayUsd: a.dayUsd + b.dayUsd,
    reservedUsd: a.reservedUsd + b.reservedUsd,
  };
}
