// RemoteSessionActor: owns a replica's credentials and its HTTP client (an undici keep-alive pool
// per origin). On a 401 a worker asks it to refresh: it re-reads the secret and builds a new
// pool; requests in flight on the old one complete before it closes. Rotation drops nothing.
// A deployment applied through the admin API gets pools whose connector refuses link-local and
// metadata addresses (the egress guard).

import { Pool } from "undici";
import type { Actor, ActorContext, ActorRef } from "../actor/index.js";
import type { EgressGuardConfig } from "../core/deployment-types.js";
import { createEgressGuard } from "../core/egress-guard.js";
import type { Secret } from "../core/secret.js";
import { guardedConnector } from "./guarded-connector.js";

export interface SessionLease {
  readonly generation: number;
  readonly dispatcher: Pool;
  readonly apiKey: string | undefined;
}

export type SessionMessage =
  | { readonly type: "lease"; readonly replyTo: ActorRef<SessionLease> }
  /** The upstream refused the credentials of `generation`: re-read and rebuild (once per generation). */
  | { readonly type: "refresh"; readonly generation: number; readonly replyTo: ActorRef<SessionLease> }
  /** Admin: re-read the credentials and rebuild the client now. */
  | { readonly type: "rotate" };

export interface SessionOptions {
  readonly origin: string;
  readonly apiKey: Secret | undefined;
  readonly connections: number;
  /** The deployment's egress guard (admin-applied deployments only): checked on every connect. */
  readonly egressGuard?: EgressGuardConfig;
}

export class RemoteSessionActor implements Actor<SessionMessage> {
  readonly #context: ActorContext<SessionMessage>;
  readonly #options: SessionOptions;
  readonly #connect: ReturnType<typeof guardedConnector> | undefined;
  #lease: SessionLease;

  constructor(context: ActorContext<SessionMessage>, options: SessionOptions) {
    this.#context = context;
    this.#options = options;
    this.#connect = options.egressGuard
      ? guardedConnector(createEgressGuard({ allowedHosts: options.egressGuard.allowedHosts }))
      : undefined;
    this.#lease = { generation: 0, dispatcher: this.#pool(), apiKey: this.#readKey() };
  }

  receive(message: SessionMessage): void {
    switch (message.type) {
      case "lease":
        message.replyTo.tell(this.#lease);
        return;
      case "rotate":
        this.#rotate();
        return;
      case "refresh": {
        if (message.generation === this.#lease.generation) this.#rotate();
        message.replyTo.tell(this.#lease);
        return;
      }
    }
  }

  async postStop(): Promise<void> {
    await this.#lease.dispatcher.close().catch(() => {});
  }

  #rotate(): void {
    const old = this.#lease.dispatcher;
    let apiKey: string | undefined;
    try {
      this.#options.apiKey?.load();
      apiKey = this.#readKey();
    } catch (error) {
      // keep the last known key; the retry will end as upstream_unauthorized
      this.#context.log.warn(
        { origin: this.#options.origin, error: (error as Error).message },
        "credential reload failed",
      );
      apiKey = this.#lease.apiKey;
    }
    this.#lease = { generation: this.#lease.generation + 1, dispatcher: this.#pool(), apiKey };
    this.#context.log.info(
      { origin: this.#options.origin, generation: this.#lease.generation },
      "session rebuilt",
    );
    // in-flight requests on the old pool finish first
    void old.close().catch(() => {});
  }

  #readKey(): string | undefined {
    const secret = this.#options.apiKey;
    return secret?.loaded ? secret.reveal() : undefined;
  }

  #pool(): Pool {
    // undici's own timers are off: first-byte and read timeouts run on the injected clock
    return new Pool(this.#options.origin, {
      connections: this.#options.connections,
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 30_000,
      ...(this.#connect ? { connect: this.#connect } : {}),
    });
  }
}
