// The stored responses of OpenAI's Responses API (docs/api.md, "Responses API", stored responses):
// each record holds the Response object `GET /v1/responses/{id}` answers and the conversation that
// `previous_response_id` continues. A record belongs to the client that created it: to any other
// client it does not exist. It lives for a TTL; the memory store is also bounded by count, and the
// Redis store (src/cluster/) keeps one expiring key per response. Both run response-store.contract.ts.

import type { Message } from "../batch.js";
import type { JsonObject } from "../request-features.js";

export interface StoredResponse {
  /** `resp_…`, the key. */
  readonly id: string;
  /** Who created it (the opaque DialectContext.clientId, "" when the server takes no keys). */
  readonly clientId: string;
  /**
   * The Response object as the dialect keeps it (its reasoning items with their
   * `encrypted_content`, which answers show only when asked for).
   */
  readonly response: JsonObject;
  /**
   * The conversation before this response's output, as neutral messages: the previous response's
   * conversation and this request's input, without its instructions (which are not carried over).
   */
  readonly history: readonly Message[];
}

export interface ResponseStore {
  /**
   * Keeps `record` for `ttlMs` from `nowMs` (callers' clock), replacing its own client's record
   * with its id. Rejects with a RangeError when `ttlMs` is not a positive finite number, and with
   * an Error when another client's live record has the id (an id collision never overwrites it).
   */
  put(record: StoredResponse, ttlMs: number, nowMs: number): Promise<void>;
  /**
   * The record when it exists, has not expired at `nowMs` and belongs to `clientId`; undefined
   * otherwise (another client's record is indistinguishable from an unknown id).
   */
  get(id: string, clientId: string, nowMs: number): Promise<StoredResponse | undefined>;
  /** Deletes the record under the same conditions as `get`; true when there was one to delete. */
  delete(id: string, clientId: string, nowMs: number): Promise<boolean>;
}

/** The check every store makes of a TTL before keeping anything. */
export function checkResponseTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new RangeError(`ttlMs must be a positive finite number, got ${ttlMs}`);
}
