// The kernel's heart: one ActorCell per live actor. It owns the mailbox, runs messages one at a
// time (awaiting async handlers), applies supervision, timers, death watch and the stop protocol.
// Everything above the kernel sees only ActorRef and ActorContext.

import type { Actor, ActorContext, Cancellable, PipeResult, Props, Signal } from "./actor.js";
import type { ActorRef, AskOptions, OfferResult } from "./actor-ref.js";
import { ask } from "./ask.js";
import type { CancelTimer, Clock } from "./clock.js";
import type { DeadLetterReason, DeadLetters } from "./dead-letters.js";
import {
  ActorStoppedError,
  describe,
  EscalatedFailure,
  InvalidActorNameError,
  MailboxFullError,
} from "./errors.js";
import type { Logger } from "./logger.js";
import { Mailbox } from "./mailbox.js";
import { type Directive, defaultStrategy, stop as stopDirective } from "./supervision.js";

/** What a cell needs from its system. */
export interface SystemServices {
  readonly clock: Clock;
  readonly log: Logger;
  readonly deadLetters: DeadLetters;
  /** Messages handled per turn before yielding to the event loop. */
  readonly throughput: number;
  /** Called when a top-level cell has fully stopped. */
  topLevelStopped(cell: ActorCell<never>): void;
}

type Envelope =
  | { readonly kind: "signal"; readonly signal: Signal }
  | { readonly kind: "message"; readonly message: unknown }
  | { readonly kind: "escalated"; readonly error: unknown; readonly childPath: string };

type State = "running" | "stopping" | "stopped";

const accepted: OfferResult<never> = { ok: true };
const cells = new WeakMap<ActorRef<never>, ActorCell<never>>();

/** The cell behind a local ref, or undefined for reply refs and foreign refs. */
export function cellOf(ref: ActorRef<never>): ActorCell<never> | undefined {
  return cells.get(ref);
}

class LocalActorRef<M> implements ActorRef<M> {
  readonly path: string;
  readonly #cell: ActorCell<M>;

  constructor(path: string, cell: ActorCell<M>) {
    this.path = path;
    this.#cell = cell;
  }

  tell(message: M): void {
    const result = this.#cell.enqueue(message);
    if (!result.ok) {
      const reason: DeadLetterReason = result.error instanceof MailboxFullError ? "mailbox-full" : "stopped";
      this.#cell.services.deadLetters.publish({ message, recipient: this.path, reason });
    }
  }

  offer(message: M): OfferResult<M> {
    return this.#cell.enqueue(message);
  }

  ask<R>(build: (replyTo: ActorRef<R>) => M, options: AskOptions): Promise<R> {
    return ask(this, this.#cell.services, build, options);
  }

  toString(): string {
    return `ActorRef(${this.path})`;
  }
}

export class ActorCell<M> {
  readonly path: string;
  readonly name: string;
  readonly ref: ActorRef<M>;
  readonly services: SystemServices;
  readonly #parent: ActorCell<never> | undefined;
  readonly #props: Props<M>;
  readonly #context: ActorContext<M>;
  readonly #mailbox: Mailbox<M>;
  readonly #signals = new Mailbox<Envelope>();
  readonly #children = new Map<string, ActorCell<never>>();
  /** Cells watching this one, with the message they asked for (undefined → a terminated signal). */
  readonly #watchers = new Map<ActorCell<never>, { message: unknown } | undefined>();
  /** Cells this one watches (so stopping can unregister). */
  readonly #watching = new Set<ActorCell<never>>();
  readonly #timers = new Set<CancelTimer>();
  readonly #runBound = () => void this.#run();
  #actor: Actor<M>;
  #state: State = "running";
  #started = false;
  #scheduled = false;
  #processing = false;
  #stopRequested = false;
  #stopError: unknown;
  #failureTimes: number[] = [];
  #childCounter = 0;
  readonly #stopped: Promise<void>;
  #resolveStopped!: () => void;

  constructor(props: Props<M>, name: string, parent: ActorCell<never> | undefined, services: SystemServices) {
    this.name = name;
    this.path = parent ? `${parent.path}/${name}` : `/user/${name}`;
    this.services = services;
    this.#parent = parent;
    this.#props = props;
    this.#mailbox = new Mailbox<M>(props.options.mailboxCapacity);
    this.ref = new LocalActorRef<M>(this.path, this);
    cells.set(this.ref as ActorRef<never>, this as unknown as ActorCell<never>);
    this.#stopped = new Promise<void>((resolve) => {
      this.#resolveStopped = resolve;
    });
    this.#context = this.#makeContext();
    this.#actor = props.create(this.#context);
    this.#schedule();
  }

  get isStopped(): boolean {
    return this.#state === "stopped";
  }

  /** Resolves once the actor has fully stopped. */
  get whenStopped(): Promise<void> {
    return this.#stopped;
  }

  // ---- delivery -------------------------------------------------------------------------------

  enqueue(message: M): OfferResult<M> {
    if (this.#stopRequested || this.#state !== "running") {
      return { ok: false, error: new ActorStoppedError(this.path, message) };
    }
    if (!this.#mailbox.push(message)) {
      return { ok: false, error: new MailboxFullError(this.path, message, this.#mailbox.capacity) };
    }
    this.#schedule();
    return accepted;
  }

  #enqueueSystem(envelope: Envelope): void {
    if (this.#state !== "running") {
      if (envelope.kind === "message") {
        this.services.deadLetters.publish({
          message: envelope.message,
          recipient: this.path,
          reason: "stopped",
        });
      }
      return;
    }
    this.#signals.push(envelope);
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled && !this.#processing) {
      this.#scheduled = true;
      queueMicrotask(this.#runBound);
    }
  }

  async #run(): Promise<void> {
    this.#scheduled = false;
    if (this.#processing || this.#state !== "running") return;
    this.#processing = true;
    let handled = 0;
    try {
      if (!this.#started) {
        this.#started = true;
        await this.#callHook(() => this.#actor.preStart?.());
      }
      while (!this.#stopRequested) {
        const envelope = this.#signals.shift();
        let pending: Promise<void> | undefined;
        if (envelope !== undefined) {
          pending = this.#invokeEnvelope(envelope);
        } else {
          if (this.#mailbox.size === 0) break;
          pending = this.#invoke(this.#mailbox.shift() as M);
        }
        if (pending !== undefined) await pending;
        if (++handled >= this.services.throughput) {
          // yield to I/O and other actors; #run resumes the loop
          this.#scheduled = true;
          setImmediate(this.#runBound);
          return;
        }
      }
    } finally {
      this.#processing = false;
    }
    if (this.#stopRequested) void this.#finishStop();
  }

  #invoke(message: M): Promise<void> | undefined {
    try {
      const result = this.#actor.receive(message);
      if (result !== undefined && typeof (result as Promise<void>).then === "function") {
        return (result as Promise<void>).then(undefined, (error: unknown) =>
          this.#handleFailure(error, message, true),
        );
      }
      return undefined;
    } catch (error) {
      return this.#handleFailure(error, message, true);
    }
  }

  #invokeEnvelope(envelope: Envelope): Promise<void> | undefined {
    switch (envelope.kind) {
      case "message":
        return this.#invoke(envelope.message as M);
      case "escalated":
        return this.#handleFailure(
          new EscalatedFailure(envelope.childPath, envelope.error),
          undefined,
          false,
        );
      case "signal":
        return this.#callHook(() => this.#actor.onSignal?.(envelope.signal));
    }
  }

  /** Runs a lifecycle hook or signal handler; a failure goes through supervision. */
  #callHook(hook: () => void | Promise<void> | undefined): Promise<void> | undefined {
    try {
      const result = hook();
      if (result !== undefined && typeof (result as Promise<void>).then === "function") {
        return (result as Promise<void>).then(undefined, (error: unknown) =>
          this.#handleFailure(error, undefined, false),
        );
      }
      return undefined;
    } catch (error) {
      return this.#handleFailure(error, undefined, false);
    }
  }

  // ---- supervision ----------------------------------------------------------------------------

  async #handleFailure(error: unknown, message: M | undefined, hasMessage: boolean): Promise<void> {
    const strategy = this.#props.options.supervision ?? defaultStrategy;
    let directive: Directive;
    try {
      directive = strategy.decide(error instanceof EscalatedFailure ? error.cause : error);
    } catch {
      directive = stopDirective();
    }
    this.services.log.warn(
      { actor: this.path, directive: directive.type, error: describe(error) },
      "actor failed; supervisor applies directive",
    );
    if (hasMessage) {
      this.services.deadLetters.publish({ message, recipient: this.path, reason: "failed" });
    }
    switch (directive.type) {
      case "resume":
        return;
      case "stop":
        this.#failStop(error);
        return;
      case "escalate":
        this.#requestStop(error);
        if (this.#parent) this.#parent.#enqueueSystem({ kind: "escalated", error, childPath: this.path });
        else
          this.services.log.error({ actor: this.path, error: describe(error) }, "top-level actor escalated");
        return;
      case "restart": {
        const now = this.services.clock.now();
        this.#failureTimes = this.#failureTimes.filter((at) => now - at < directive.withinMs);
        this.#failureTimes.push(now);
        if (this.#failureTimes.length > directive.maxRetries) {
          this.#failStop(error);
          return;
        }
        await this.#restart(error, message);
        return;
      }
    }
  }

  /** Stops after a failure and tells the parent through a `child-failed` signal. */
  #failStop(error: unknown): void {
    this.#requestStop(error);
    if (this.#parent) {
      this.#parent.#enqueueSystem({
        kind: "signal",
        signal: { type: "child-failed", ref: this.ref as ActorRef<never>, error },
      });
    } else {
      this.services.log.error(
        { actor: this.path, error: describe(error) },
        "top-level actor stopped after failure",
      );
    }
  }

  async #restart(error: unknown, message: M | undefined): Promise<void> {
    const old = this.#actor;
    this.#cancelTimers();
    await this.#stopChildren(); // the fresh instance builds its own children
    try {
      if (old.preRestart) await old.preRestart(error, message);
      else await old.postStop?.();
    } catch (hookError) {
      this.services.log.warn({ actor: this.path, error: describe(hookError) }, "preRestart failed");
    }
    try {
      this.#actor = this.#props.create(this.#context);
    } catch (createError) {
      this.#failStop(createError);
      return;
    }
    const fresh = this.#actor;
    const pending = this.#callHook(() => (fresh.postRestart ? fresh.postRestart(error) : fresh.preStart?.()));
    if (pending !== undefined) await pending;
  }

  // ---- stopping -------------------------------------------------------------------------------

  stop(): Promise<void> {
    this.#requestStop(undefined);
    return this.#stopped;
  }

  #requestStop(error: unknown): void {
    if (this.#stopRequested) return;
    this.#stopRequested = true;
    this.#stopError = error;
    // a running handler finishes first; the run loop then calls #finishStop
    if (!this.#processing) void this.#finishStop();
  }

  async #finishStop(): Promise<void> {
    if (this.#state !== "running") return;
    this.#state = "stopping";
    this.#cancelTimers();
    await this.#stopChildren();
    if (this.#started) {
      try {
        await this.#actor.postStop?.();
      } catch (error) {
        this.services.log.warn({ actor: this.path, error: describe(error) }, "postStop failed");
      }
    }
    this.#state = "stopped";
    for (const message of this.#mailbox.drain()) {
      this.services.deadLetters.publish({ message, recipient: this.path, reason: "stopped" });
    }
    for (const envelope of this.#signals.drain()) {
      if (envelope.kind === "message") {
        this.services.deadLetters.publish({
          message: envelope.message,
          recipient: this.path,
          reason: "stopped",
        });
      }
    }
    for (const watched of this.#watching) watched.#watchers.delete(this as unknown as ActorCell<never>);
    this.#watching.clear();
    const error = this.#stopError;
    for (const [watcher, entry] of this.#watchers)
      watcher.#deliverTerminated(this.ref as ActorRef<never>, entry, error);
    this.#watchers.clear();
    if (this.#parent) this.#parent.#children.delete(this.name);
    else this.services.topLevelStopped(this as unknown as ActorCell<never>);
    this.#resolveStopped();
  }

  async #stopChildren(): Promise<void> {
    const children = [...this.#children.values()];
    await Promise.all(children.map((child) => child.stop()));
  }

  #deliverTerminated(ref: ActorRef<never>, entry: { message: unknown } | undefined, error: unknown): void {
    this.#watching.delete(cellOf(ref) as ActorCell<never>);
    if (entry) this.#enqueueSystem({ kind: "message", message: entry.message });
    else {
      const signal: Signal =
        error === undefined ? { type: "terminated", ref } : { type: "terminated", ref, error };
      this.#enqueueSystem({ kind: "signal", signal });
    }
  }

  // ---- timers and context ---------------------------------------------------------------------

  #cancelTimers(): void {
    for (const cancel of this.#timers) cancel();
    this.#timers.clear();
  }

  #spawnChild<C>(props: Props<C>, name: string | undefined): ActorRef<C> {
    if (this.#stopRequested)
      throw new InvalidActorNameError(`cannot spawn under ${this.path}: it is stopping`);
    const childName = name ?? `$${(this.#childCounter++).toString(36)}`;
    validateName(childName);
    if (this.#children.has(childName)) {
      throw new InvalidActorNameError(`actor name "${childName}" is taken under ${this.path}`);
    }
    const child = new ActorCell<C>(props, childName, this as unknown as ActorCell<never>, this.services);
    this.#children.set(childName, child as unknown as ActorCell<never>);
    return child.ref;
  }

  #watch(ref: ActorRef<never>, entry: { message: unknown } | undefined): void {
    const target = cellOf(ref);
    if (target === undefined) return;
    if (target.#state === "stopped") {
      this.#deliverTerminated(ref, entry, undefined);
      return;
    }
    target.#watchers.set(this as unknown as ActorCell<never>, entry);
    this.#watching.add(target);
  }

  #makeContext(): ActorContext<M> {
    const self = this.ref;
    const addTimer = (cancel: CancelTimer): Cancellable => {
      this.#timers.add(cancel);
      return {
        cancel: () => {
          cancel();
          this.#timers.delete(cancel);
        },
      };
    };
    return {
      self,
      parent: this.#parent?.ref as ActorRef<never> | undefined,
      clock: this.services.clock,
      log: this.services.log,
      spawn: (childProps, name) => this.#spawnChild(childProps, name),
      stop: (ref) => {
        if (ref === undefined || ref === (self as ActorRef<never>)) return this.stop();
        const target = cellOf(ref);
        return target ? target.stop() : Promise.resolve();
      },
      children: () => [...this.#children.values()].map((child) => child.ref as ActorRef<never>),
      child: (name) => this.#children.get(name)?.ref as ActorRef<never> | undefined,
      watch: (ref) => this.#watch(ref, undefined),
      watchWith: (ref, message) => this.#watch(ref, { message }),
      unwatch: (ref) => {
        const target = cellOf(ref);
        if (target === undefined) return;
        target.#watchers.delete(this as unknown as ActorCell<never>);
        this.#watching.delete(target);
      },
      scheduleOnce: (delayMs, message) => {
        const cancel: CancelTimer = this.services.clock.setTimer(delayMs, () => {
          this.#timers.delete(cancel);
          self.tell(message);
        });
        return addTimer(cancel);
      },
      scheduleRepeatedly: (intervalMs, message, initialDelayMs = intervalMs) => {
        let cancelCurrent: CancelTimer = () => {};
        let active = true;
        const fire = () => {
          if (!active) return;
          cancelCurrent = this.services.clock.setTimer(intervalMs, fire);
          self.tell(message);
        };
        cancelCurrent = this.services.clock.setTimer(initialDelayMs, fire);
        return addTimer(() => {
          active = false;
          cancelCurrent();
        });
      },
      pipeToSelf: <T>(promise: Promise<T>, map: (result: PipeResult<T>) => M) => {
        promise.then(
          (value) => self.tell(map({ ok: true, value })),
          (error: unknown) => self.tell(map({ ok: false, error })),
        );
      },
    };
  }
}

export function validateName(name: string): void {
  if (name.length === 0 || name.includes("/")) {
    throw new InvalidActorNameError(`invalid actor name "${name}": must be non-empty and contain no "/"`);
  }
}
