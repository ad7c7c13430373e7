// The Responses API's stored responses over HTTP (docs/api.md, "Responses API"):
// `GET /v1/responses/{id}` answers the stored Response (its reasoning envelope only with
// `include=reasoning.encrypted_content`), `DELETE /v1/responses/{id}` deletes it. Another client's
// response is answered exactly as an unknown id: 404 `not_found`. Errors in OpenAI's body.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock } from "../../../actor/index.js";
import { errors, storeFailure } from "../../../core/inference-error.js";
import type { ResponseStore } from "../../../core/stores/response-store.js";
import type { GatewayRoute, GatewayRouteContext } from "../../http/http-gateway.js";
import type { ResponsesDialect } from "./responses-dialect.js";
import { visibleResponse } from "./responses-output.js";
import type { ResponseJson } from "./responses-wire.js";

const PREFIX = "/v1/responses/";

export interface ResponsesRouteOptions {
  readonly store: ResponseStore;
  readonly clock: Pick<Clock, "now">;
  /** Whose error body the route answers with. */
  readonly dialect: ResponsesDialect;
}

export function responsesRoute(options: ResponsesRouteOptions): GatewayRoute {
  const { store, clock, dialect } = options;

  /** The id in the path; undefined (answered 404) for an empty or nested one. */
  function idOf(request: IncomingMessage, response: ServerResponse, context: GatewayRouteContext) {
    request.resume();
    let id: string | undefined;
    try {
      id = decodeURIComponent(context.path.slice(PREFIX.length));
    } catch {
      id = undefined;
    }
    if (id === undefined || id === "" || id.includes("/")) {
      context.io.sendError(
        response,
        errors.notFound(`unknown path: ${request.method} ${truncate(context.path)}`),
        {
          dialect,
        },
      );
      return undefined;
    }
    return id;
  }

  const notFound = (id: string) => errors.notFound(`response ${truncate(id)} not found`);

  return {
    prefix: PREFIX,
    dialect,
    actions: {
      async GET(request, response, context) {
        const id = idOf(request, response, context);
        if (id === undefined) return;
        const query = new URLSearchParams(request.url?.split("?")[1] ?? "");
        if (query.get("stream") === "true") {
          context.io.sendError(
            response,
            errors.badRequest("stream: replaying a stored response as a stream is not supported", "stream"),
            { dialect },
          );
          return;
        }
        const include = [...query.getAll("include"), ...query.getAll("include[]")];
        let record: Awaited<ReturnType<ResponseStore["get"]>>;
        try {
          record = await store.get(id, context.clientId, clock.now());
        } catch (error) {
          context.io.sendError(response, storeFailure(error), { dialect });
          return;
        }
        if (record === undefined) {
          context.io.sendError(response, notFound(id), { dialect });
          return;
        }
        const shown = visibleResponse(
          record.response as ResponseJson,
          include.includes("reasoning.encrypted_content"),
        );
        context.io.sendJson(response, 200, shown);
      },
      async DELETE(request, response, context) {
        const id = idOf(request, response, context);
        if (id === undefined) return;
        let deleted: boolean;
        try {
          deleted = await store.delete(id, context.clientId, clock.now());
        } catch (error) {
          context.io.sendError(response, storeFailure(error), { dialect });
          return;
        }
        if (!deleted) {
          context.io.sendError(response, notFound(id), { dialect });
          return;
        }
        context.io.sendJson(response, 200, { id, object: "response", deleted: true });
      },
    },
  };
}

function truncate(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
