// Supervision as data (one-for-one): a decider maps a failure to a directive.
// The ActorCell applies the directive of the failed actor's own props.

export type Directive =
  | { readonly type: "restart"; readonly maxRetries: number; readonly withinMs: number }
  | { readonly type: "resume" }
  | { readonly type: "stop" }
  | { readonly type: "escalate" };

/** Rebuild the actor from its props; more than `maxRetries` failures within `withinMs` stop it. */
export const restart = (options: { maxRetries: number; withinMs: number }): Directive => ({
  type: "restart",
  maxRetries: options.maxRetries,
  withinMs: options.withinMs,
});
/** Keep the actor and its state; drop the failed message. */
export const resume = (): Directive => ({ type: "resume" });
/** Stop the actor; its parent is told through a `child-failed` signal. */
export const stop = (): Directive => ({ type: "stop" });
/** Stop the actor and fail its parent with the same error. */
export const escalate = (): Directive => ({ type: "escalate" });

/** Chooses a directive from the failure (the thrown value or rejection reason). */
export type Decider = (error: unknown) => Directive;

export interface SupervisorStrategy {
  readonly decide: Decider;
}

/** One-for-one: only the failed actor is affected by its directive. */
export function oneForOne(decider: Decider): SupervisorStrategy {
  return { decide: decider };
}

/** Default: restart, at most 10 times per minute, then stop. */
export const defaultStrategy: SupervisorStrategy = oneForOne(() =>
  restart({ maxRetries: 10, withinMs: 60_000 }),
);
