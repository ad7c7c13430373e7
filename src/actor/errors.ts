// Errors of the actor kernel. Each has a stable `code`; none is thrown by `tell`.

export class ActorKernelError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An `ask` got no reply within its timeout (measured on the system's clock). */
export class AskTimeoutError extends ActorKernelError {
  readonly targetPath: string;
  readonly timeoutMs: number;
  constructor(targetPath: string, timeoutMs: number) {
    super("ask_timeout", `ask to ${targetPath} got no reply within ${timeoutMs} ms`);
    this.targetPath = targetPath;
    this.timeoutMs = timeoutMs;
  }
}

/** A bounded mailbox was full; the rejected message is handed back to the sender. */
export class MailboxFullError<M = unknown> extends ActorKernelError {
  readonly targetPath: string;
  readonly rejectedMessage: M;
  readonly capacity: number;
  constructor(targetPath: string, rejectedMessage: M, capacity: number) {
    super("mailbox_full", `mailbox of ${targetPath} is full (capacity ${capacity})`);
    this.targetPath = targetPath;
    this.rejectedMessage = rejectedMessage;
    this.capacity = capacity;
  }
}

/** The target actor has stopped (or is stopping); the message is handed back. */
export class ActorStoppedError<M = unknown> extends ActorKernelError {
  readonly targetPath: string;
  readonly rejectedMessage: M;
  constructor(targetPath: string, rejectedMessage: M) {
    super("actor_stopped", `actor ${targetPath} has stopped`);
    this.targetPath = targetPath;
    this.rejectedMessage = rejectedMessage;
  }
}

/** A spawn used a name that is empty, contains '/', or is taken by a live sibling. */
export class InvalidActorNameError extends ActorKernelError {
  constructor(message: string) {
    super("invalid_actor_name", message);
  }
}

/** Wraps a child's failure that the child's supervisor escalated to its parent. */
export class EscalatedFailure extends ActorKernelError {
  readonly childPath: string;
  constructor(childPath: string, cause: unknown) {
    super("escalated", `child ${childPath} escalated: ${describe(cause)}`, { cause });
    this.childPath = childPath;
  }
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
