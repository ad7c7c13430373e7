// The actor system: spawns top-level actors under /user, owns the clock, the logger and the
// dead letters, and terminates everything in order (children before parents).

import type { Props } from "./actor.js";
import { ActorCell, cellOf, type SystemServices, validateName } from "./actor-cell.js";
import type { ActorRef } from "./actor-ref.js";
import { type Clock, systemClock } from "./clock.js";
import { DeadLetters } from "./dead-letters.js";
import { InvalidActorNameError } from "./errors.js";
import { type Logger, silentLogger } from "./logger.js";

export interface ActorSystemOptions {
  readonly name: string;
  /** Defaults to the real clock; tests pass the testkit's ManualClock. */
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Messages an actor handles per turn before yielding to the event loop (default 256). */
  readonly throughput?: number;
}

export class ActorSystem {
  readonly name: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly deadLetters = new DeadLetters();
  readonly #topLevel = new Map<string, ActorCell<never>>();
  readonly #services: SystemServices;
  #counter = 0;
  #terminating: Promise<void> | undefined;

  private constructor(options: ActorSystemOptions) {
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    const topLevel = this.#topLevel;
    this.#services = {
      clock: this.clock,
      log: this.log,
      deadLetters: this.deadLetters,
      throughput: options.throughput ?? 256,
      topLevelStopped(cell) {
        if (topLevel.get(cell.name) === cell) topLevel.delete(cell.name);
      },
    };
  }

  static create(options: ActorSystemOptions): ActorSystem {
    return new ActorSystem(options);
  }

  /** Spawns a top-level actor at `/user/<name>`. Throws InvalidActorNameError for a taken or bad name. */
  spawn<M>(props: Props<M>, name?: string): ActorRef<M> {
    if (this.#terminating) throw new InvalidActorNameError(`actor system ${this.name} is terminating`);
    const actorName = name ?? `$${(this.#counter++).toString(36)}`;
    validateName(actorName);
    if (this.#topLevel.has(actorName))
      throw new InvalidActorNameError(`actor name "${actorName}" is taken under /user`);
    const cell = new ActorCell<M>(props, actorName, undefined, this.#services);
    this.#topLevel.set(actorName, cell as unknown as ActorCell<never>);
    return cell.ref;
  }

  /** Stops any local actor; resolves after its postStop (and its children's) ran. */
  stop(ref: ActorRef<never>): Promise<void> {
    const cell = cellOf(ref);
    return cell ? cell.stop() : Promise.resolve();
  }

  /** Stops every actor; resolves when every postStop has run. Idempotent. */
  terminate(): Promise<void> {
    this.#terminating ??= Promise.all([...this.#topLevel.values()].map((cell) => cell.stop())).then(
      () => undefined,
    );
    return this.#terminating;
  }
}
