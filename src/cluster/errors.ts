// Errors of the cluster layer (Redis stores and membership), each with a stable `code`. A store
// call that fails because Redis is unreachable rejects with ioredis's own error as is; these are
// the failures the stores themselves decide.

/**
 * An optimistic read-modify-write (RedisCircuitStateStore.update) lost its compare-and-set to other
 * nodes more times than it may retry. Retryable: the caller may try the whole decision again.
 */
export class StoreConflictError extends Error {
  readonly code = "store_conflict";
  readonly retryable = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StoreConflictError";
  }
}
