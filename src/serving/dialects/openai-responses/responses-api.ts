// The Responses API as the gateway serves it (docs/api.md, "Responses API"): the dialect at
// `POST /v1/responses` and the route for `GET`/`DELETE /v1/responses/{id}`, sharing one store.
// served-dialects.ts asks for both with the same deps; without a store in them, one memory store
// (with the [server] defaults) is made per deps object, so the two still share it.

import type { Clock } from "../../../actor/index.js";
import { serverDefaults } from "../../../core/config/server-schema.js";
import { MemoryResponseStore } from "../../../core/stores/memory-response-store.js";
import type { ResponseStore } from "../../../core/stores/response-store.js";
import type { GatewayRoute } from "../../http/http-gateway.js";
import { type ResponsesDialect, responsesDialect } from "./responses-dialect.js";
import { responsesRoute } from "./responses-routes.js";

/** Where stored responses live and for how long (`[server] responses_ttl_s`). */
export interface ResponsesStoreDeps {
  readonly store: ResponseStore;
  readonly ttlMs: number;
}

export interface ResponsesApi {
  readonly dialect: ResponsesDialect;
  readonly route: GatewayRoute;
}

export function responsesApi(
  options: ResponsesStoreDeps & { readonly clock: Pick<Clock, "now"> },
): ResponsesApi {
  const dialect = responsesDialect(options);
  return { dialect, route: responsesRoute({ store: options.store, clock: options.clock, dialect }) };
}

const apis = new WeakMap<object, ResponsesApi>();

/** The one Responses API of `deps` (made on first use). */
export function responsesApiFor(deps: {
  readonly clock: Pick<Clock, "now">;
  readonly responses?: ResponsesStoreDeps;
}): ResponsesApi {
  let api = apis.get(deps);
  if (api === undefined) {
    const responses = deps.responses ?? {
      store: new MemoryResponseStore({ maxStored: serverDefaults.responsesMaxStored }),
      ttlMs: serverDefaults.responsesTtlS * 1000,
    };
    api = responsesApi({ ...responses, clock: deps.clock });
    apis.set(deps, api);
  }
  return api;
}
