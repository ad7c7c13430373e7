// A token count on a remote deployment (docs/api.md, "Embeddings", "Counting tokens"): one
// unary call to the provider's count endpoint (Anthropic's `/v1/messages/count_tokens`, Gemini's
// `models/{model}:countTokens`) with the deployment's key, on the session's pool, under the
// deployment's timeouts and the request's signal. No rate-limit permit, no circuit, no retry: a
// count is free and the caller may ask again. A provider without a count endpoint answers the
// estimate of src/core/batch.ts, flagged `estimated`.

import type { ActorRef, Clock } from "../actor/index.js";
import { estimateTokens } from "../core/batch.js";
import { errors, InferenceError } from "../core/inference-error.js";
import type { CountTokensRequest } from "../protocol/engine-messages.js";
import type { ProviderAdapter } from "./provider.js";
import type { SessionLease, SessionMessage } from "./remote-session-actor.js";
import { redactKey } from "./remote-worker-actor.js";
import { callUpstreamUnary } from "./upstream-unary-call.js";

const LEASE_TIMEOUT_MS = 30_000;

export interface RemoteCountTokens {
  readonly adapter: ProviderAdapter;
  readonly session: ActorRef<SessionMessage>;
  readonly clock: Clock;
  readonly request: CountTokensRequest;
}

/** Answers `request.output` once; never throws. */
export async function countTokensUpstream(count: RemoteCountTokens): Promise<void> {
  const { adapter, request } = count;
  const { batch, output } = request;
  const build = adapter.buildCountTokensRequest?.bind(adapter);
  const parse = adapter.parseCountTokensResponse?.bind(adapter);
  if (!build || !parse) {
    output.resolve({ inputTokens: estimateTokens(batch.messages, 0), estimated: true });
    return;
  }
  try {
    if (batch.signal.aborted) {
      output.close();
      return;
    }
    const lease = await count.session.ask<SessionLease>((replyTo) => ({ type: "lease", replyTo }), {
      timeoutMs: LEASE_TIMEOUT_MS,
    });
    const result = await callUpstreamUnary({
      dispatcher: lease.dispatcher,
      request: build(batch, lease.apiKey),
      clock: count.clock,
      timeouts: adapter.resilience.timeouts,
      signal: batch.signal,
      mapError: adapter.mapError,
      parse,
    });
    if (result.type === "completed") output.resolve(result.value);
    else if (result.type === "cancelled") output.close();
    else output.fail(redactKey(result.error, lease.apiKey));
  } catch (error) {
    // a request the provider cannot take (the conversion's 400 naming the field) stays as it is
    output.fail(
      error instanceof InferenceError
        ? error
        : errors.internal(`token count failed: ${(error as Error).message ?? String(error)}`, error),
    );
  }
}
