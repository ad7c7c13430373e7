// What the gateway lends its routes (dialect routes, plain routes, the admin API): its one way to
// answer JSON and errors (src/core/http-error.ts's status and headers, the body of a dialect), and
// its bounded JSON body reader.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { ErrorDialect } from "../../core/dialect.js";
import type { InferenceError } from "../../core/inference-error.js";

/** What a failed request's warning carries so it can be matched to the request. */
export interface RequestLogContext {
  readonly requestId?: string;
  readonly deployment?: string;
}

export interface GatewayIo {
  sendJson(
    response: ServerResponse,
    status: number,
    body: unknown,
    headers?: Readonly<Record<string, string>>,
  ): void;
  /** Another status or more headers may override the error's; the body is `dialect`'s (OpenAI's when absent). */
  sendError(
    response: ServerResponse,
    error: InferenceError,
    override?: {
      status?: number;
      headers?: Readonly<Record<string, string>>;
      request?: RequestLogContext;
      dialect?: ErrorDialect;
    },
  ): void;
  /** The body as JSON; on failure the error has been answered and undefined is returned. */
  readJson(
    request: IncomingMessage,
    response: ServerResponse,
    dialect?: ErrorDialect,
  ): Promise<{ value: unknown } | undefined>;
}
