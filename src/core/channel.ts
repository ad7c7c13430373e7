// A bounded single-producer single-consumer async channel: how token chunks travel from a runner
// to the HTTP response without a mailbox hop per token. The producer awaits room (backpressure);
// the consumer iterates with `for await`; either side can end it.

export class ChannelClosedError extends Error {
  constructor() {
    super("channel closed by its consumer");
    this.name = "ChannelClosedError";
  }
}

/**
 * The producer's side of a chunk stream: what an engine writes a request's chunks into. A Channel
 * is one; the RequestActor's attempt sink is another (it forwards straight to the client).
 */
export interface ChunkSink<T> {
  /** Takes the item if there is room (false: full, call push). Throws ChannelClosedError once the reader left. */
  offer(item: T): boolean;
  /** Takes the item, waiting for room. Rejects with ChannelClosedError once the reader left. */
  push(item: T): Promise<void>;
  /** No more items. */
  close(): void;
  /** The stream failed with `error`. */
  fail(error: unknown): void;
}

type Waiter<T> = { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void };

export class Channel<T> implements AsyncIterable<T>, ChunkSink<T> {
  readonly capacity: number;
  #items: T[] = [];
  #head = 0;
  #done = false;
  #error: unknown;
  #failed = false;
  #cancelled = false;
  #reader: Waiter<T> | undefined;
  #spaceWaiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];

  constructor(capacity = 64) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** True once the consumer cancelled: the producer should stop producing. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** True once the producer closed or failed it. */
  get ended(): boolean {
    return this.#done || this.#failed;
  }

  /** Adds an item if there is room; false when full. Throws ChannelClosedError after cancel. */
  offer(item: T): boolean {
    // ended by its reader, or by whoever ended it on the reader's behalf: stop producing
    if (this.#cancelled || this.#done || this.#failed) throw new ChannelClosedError();
    const reader = this.#reader;
    if (reader !== undefined) {
      this.#reader = undefined;
      reader.resolve({ value: item, done: false });
      return true;
    }
    if (this.size >= this.capacity) return false;
    this.#items.push(item);
    return true;
  }

  /** Adds an item, waiting for room. Rejects with ChannelClosedError when the consumer cancels. */
  async push(item: T): Promise<void> {
    while (!this.offer(item)) {
      await new Promise<void>((resolve, reject) => this.#spaceWaiters.push({ resolve, reject }));
    }
  }

  /** Producer: no more items; the consumer finishes after draining what is queued. */
  close(): void {
    if (this.#done || this.#failed || this.#cancelled) return;
    this.#done = true;
    this.#rejectPushers();
    this.#wakeReader();
  }

  /** Producer: the consumer gets `error` after draining what is queued. */
  fail(error: unknown): void {
    if (this.#done || this.#failed || this.#cancelled) return;
    this.#failed = true;
    this.#error = error;
    this.#rejectPushers();
    this.#wakeReader();
  }

  /** Consumer: stop; queued items are dropped and a waiting producer gets ChannelClosedError. */
  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#items = [];
    this.#head = 0;
    this.#rejectPushers();
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#items.length) {
      const value = this.#items[this.#head] as T;
      (this.#items as (T | undefined)[])[this.#head] = undefined;
      this.#head++;
      if (this.#head === this.#items.length) {
        this.#items = [];
        this.#head = 0;
      }
      const waiter = this.#spaceWaiters.shift();
      waiter?.resolve();
      return Promise.resolve({ value, done: false });
    }
    if (this.#failed) return Promise.reject(this.#error);
    if (this.#done || this.#cancelled) return Promise.resolve({ value: undefined, done: true });
    if (this.#reader !== undefined) return Promise.reject(new Error("channel has one consumer"));
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
    });
  }

  /** A writer waiting for room learns the channel ended (e.g. the request's deadline passed). */
  #rejectPushers(): void {
    const waiters = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const waiter of waiters) waiter.reject(new ChannelClosedError());
  }

  #wakeReader(): void {
    const reader = this.#reader;
    if (reader === undefined) return;
    this.#reader = undefined;
    if (this.#failed) reader.reject(this.#error);
    else reader.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: () => {
        this.cancel();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
