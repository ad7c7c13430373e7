// The actor kernel's public surface (used by every layer above it).

export type { Actor, ActorContext, Cancellable, PipeResult, Props, PropsOptions, Signal } from "./actor.js";
export { props } from "./actor.js";
export { type ActorRef, type AskOptions, callbackRef, narrowRef, type OfferResult } from "./actor-ref.js";
export { ActorSystem, type ActorSystemOptions } from "./actor-system.js";
export { type CancelTimer, type Clock, systemClock } from "./clock.js";
export { type DeadLetter, type DeadLetterReason, DeadLetters } from "./dead-letters.js";
export {
  ActorKernelError,
  ActorStoppedError,
  AskTimeoutError,
  EscalatedFailure,
  InvalidActorNameError,
  MailboxFullError,
} from "./errors.js";
export { type Logger, silentLogger } from "./logger.js";
export {
  type Decider,
  type Directive,
  defaultStrategy,
  escalate,
  oneForOne,
  restart,
  resume,
  type SupervisorStrategy,
  stop,
} from "./supervision.js";
