// The dialects and plain routes the gateway serves beside OpenAI's chat and legacy completions
// (docs/api.md, "Endpoints"): one list, filled here, that the entry hands to the gateway. Each
// dialect lives in its own folder under src/serving/dialects/.

import type { Clock } from "../../actor/index.js";
import { type GatewayRoute, type ServedDialect, servedDialect } from "../http/http-gateway.js";
import type { InferenceServicePort } from "../service-types.js";
import { anthropicMessagesDialect } from "./anthropic/anthropic-messages-dialect.js";
import { countTokensRoute } from "./anthropic/count-tokens-route.js";
import { embeddingsRoute } from "./openai/openai-embeddings.js";
import { type ResponsesStoreDeps, responsesApiFor } from "./openai-responses/responses-api.js";

/** What the dialects and routes below are built from. */
export interface DialectDeps {
  readonly service: InferenceServicePort;
  readonly clock: Pick<Clock, "now">;
  /**
   * The Responses API's stored responses (memory in one process, Redis in a cluster) and their
   * TTL; absent: one memory store with the [server] defaults.
   */
  readonly responses?: ResponsesStoreDeps;
}

/** Every dialect at its path. */
export function servedDialects(deps: DialectDeps): readonly ServedDialect[] {
  return [
    servedDialect("/v1/messages", anthropicMessagesDialect),
    servedDialect("/v1/responses", responsesApiFor(deps).dialect),
  ];
}

/** Every plain route (a dialect's second endpoints, stored state). */
export function servedRoutes(deps: DialectDeps): readonly GatewayRoute[] {
  return [
    countTokensRoute({ service: deps.service }),
    responsesApiFor(deps).route,
    embeddingsRoute({ service: deps.service }),
  ];
}
