// What an actor is: a message handler with lifecycle hooks, built from Props by the kernel.
// The kernel calls `receive` one message at a time, in arrival order, awaiting async handlers.

import type { ActorRef } from "./actor-ref.js";
import type { Clock } from "./clock.js";
import type { Logger } from "./logger.js";
import type { SupervisorStrategy } from "./supervision.js";

/** Signals the kernel delivers to `onSignal`, in mailbox order (they bypass mailbox capacity). */
export type Signal =
  /** A watched actor stopped; `error` is set when it stopped because of a failure. */
  | { readonly type: "terminated"; readonly ref: ActorRef<never>; readonly error?: unknown }
  /** A child was stopped by its supervisor (directive `stop`, or too many restarts). */
  | { readonly type: "child-failed"; readonly ref: ActorRef<never>; readonly error: unknown };

export interface Actor<M> {
  /** Handles one message. A throw or rejection is a failure handled by the actor's supervisor strategy. */
  receive(message: M): void | Promise<void>;
  /** Before the first message; messages wait until it resolves. */
  preStart?(): void | Promise<void>;
  /** After the children stopped, before watchers hear `terminated`. */
  postStop?(): void | Promise<void>;
  /** On the failed instance before a restart, after its children stopped. Default: postStop. */
  preRestart?(error: unknown, message: M | undefined): void | Promise<void>;
  /** On the fresh instance after a restart. Default: preStart. */
  postRestart?(error: unknown): void | Promise<void>;
  /** Kernel signals (death watch, child failures). */
  onSignal?(signal: Signal): void | Promise<void>;
}

export interface Cancellable {
  cancel(): void;
}

export interface ActorContext<M> {
  readonly self: ActorRef<M>;
  /** Undefined for top-level actors (children of the user guardian). */
  readonly parent: ActorRef<never> | undefined;
  readonly clock: Clock;
  readonly log: Logger;
  /** Spawns a child; stopping this actor stops the child first. */
  spawn<C>(props: Props<C>, name?: string): ActorRef<C>;
  /**
   * Stops a child (or this actor when `ref` is omitted or is `self`). The returned promise
   * resolves after postStop; do not await your own stop inside `receive` (it waits for the
   * current message to finish).
   */
  stop(ref?: ActorRef<never>): Promise<void>;
  children(): ActorRef<never>[];
  child(name: string): ActorRef<never> | undefined;
  /** Delivers a `terminated` signal when `ref` stops (at once if it already has). */
  watch(ref: ActorRef<never>): void;
  /** Delivers `message` to this actor when `ref` stops. */
  watchWith(ref: ActorRef<never>, message: M): void;
  unwatch(ref: ActorRef<never>): void;
  /** Tells `message` to self after `delayMs`. Cancelled when the actor stops or restarts. */
  scheduleOnce(delayMs: number, message: M): Cancellable;
  /** Tells `message` to self every `intervalMs` (first after `initialDelayMs`, default intervalMs). */
  scheduleRepeatedly(intervalMs: number, message: M, initialDelayMs?: number): Cancellable;
  /**
   * Awaits `promise` outside the mailbox and tells the mapped result to self, so long work
   * does not block message handling.
   */
  pipeToSelf<T>(promise: Promise<T>, map: (result: PipeResult<T>) => M): void;
}

export type PipeResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

export interface PropsOptions {
  /** Bounded mailbox capacity; unbounded when omitted. Signals never count against it. */
  readonly mailboxCapacity?: number;
  /** How failures of this actor are handled (default: restart up to 10 times a minute). */
  readonly supervision?: SupervisorStrategy;
}

/** How to build an actor: a factory (called again on every restart) plus options. */
export interface Props<M> {
  readonly create: (context: ActorContext<M>) => Actor<M>;
  readonly options: PropsOptions;
}

export function props<M>(
  create: (context: ActorContext<M>) => Actor<M>,
  options: PropsOptions = {},
): Props<M> {
  return { create, options };
}
