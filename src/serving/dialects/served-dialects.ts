// The dialects and plain routes the gateway serves beside OpenAI's chat and legacy completions
// (docs/api.md, "Endpoints"): one list, filled here, that the entry hands to the gateway. Each
// dialect lives in its own folder under src/serving/dialects/.

import type { Clock } from "../../actor/index.js";
import type { GatewayRoute, ServedDialect } from "../http/http-gateway.js";
import type { InferenceServicePort } from "../service-types.js";

/** What the dialects and routes below are built from. */
export interface DialectDeps {
  readonly service: InferenceServicePort;
  readonly clock: Pick<Clock, "now">;
}

/** Every dialect at its path. */
export function servedDialects(_deps: DialectDeps): readonly ServedDialect[] {
  return [];
}

/** Every plain route (a dialect's second endpoints, stored state). */
export function servedRoutes(_deps: DialectDeps): readonly GatewayRoute[] {
  return [];
}
