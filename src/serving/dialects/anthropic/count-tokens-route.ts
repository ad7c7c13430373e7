// `POST /v1/messages/count_tokens` (docs/api.md, "Anthropic Messages API"): the Messages body
// without `max_tokens`, parsed by the dialect's own parser, counted by the inference service (the
// deployment's tokenizer or provider where it has one, else an estimate) and answered as
// `{"input_tokens": N}`; an estimate carries the header `x-rakka-token-count: estimated`.

import type { TokenCount } from "../../../core/embedding.js";
import { toInferenceError } from "../../../core/inference-error.js";
import type { GatewayRoute } from "../../http/http-gateway.js";
import type { InferenceServicePort } from "../../service-types.js";
import { anthropicMessagesDialect } from "./anthropic-messages-dialect.js";
import { parseCountTokensRequest } from "./anthropic-messages-request.js";

export const COUNT_TOKENS_PATH = "/v1/messages/count_tokens";

/** The header that flags a count as an estimate, and its value. */
export const TOKEN_COUNT_HEADER = "x-rakka-token-count";
export const ESTIMATED = "estimated";

export interface CountTokensRouteDeps {
  readonly service: Pick<InferenceServicePort, "countTokens">;
}

export function countTokensRoute(deps: CountTokensRouteDeps): GatewayRoute {
  const dialect = anthropicMessagesDialect;
  return {
    path: COUNT_TOKENS_PATH,
    dialect,
    actions: {
      async POST(request, response, { io }) {
        const body = await io.readJson(request, response, dialect);
        if (!body) return;
        const parsed = parseCountTokensRequest(body.value);
        if (!parsed.ok) {
          io.sendError(response, parsed.error, { dialect });
          return;
        }
        let count: TokenCount;
        try {
          count = await deps.service.countTokens(parsed.request);
        } catch (error) {
          io.sendError(response, toInferenceError(error), {
            request: { deployment: parsed.request.model },
            dialect,
          });
          return;
        }
        io.sendJson(
          response,
          200,
          { input_tokens: count.inputTokens },
          count.estimated ? { [TOKEN_COUNT_HEADER]: ESTIMATED } : {},
        );
      },
    },
  };
}
