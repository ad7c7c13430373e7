// A completion route of the gateway, for any dialect (src/core/dialect.ts): read the bounded JSON
// body, let the dialect parse it into the neutral request, run it through the InferenceService, and
// answer in the dialect's wire — a unary body, or server-sent events that the dialect frames, with
// a failure before commit as a plain HTTP error and one after commit as the dialect's error event
// (docs/architecture.md, request rules). The gateway (http-gateway.ts) maps paths to these routes.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Clock, Logger } from "../../actor/index.js";
import type { CompletionResult, Dialect, DialectContext, ServiceRequest } from "../../core/dialect.js";
import { httpStatusOf } from "../../core/http-error.js";
import { errors, type InferenceError, toInferenceError } from "../../core/inference-error.js";
import type { FinishReason, TokenChunk, TokenUsage } from "../../core/token-chunk.js";
import type { InferenceServicePort, RequestHandle } from "../service-types.js";
import type { GatewayIo, RequestLogContext } from "./gateway-io.js";
import { SseWriter } from "./sse-writer.js";

export interface DialectRouteDeps {
  readonly service: InferenceServicePort;
  readonly clock: Pick<Clock, "now">;
  readonly log: Logger;
  readonly io: GatewayIo;
}

export type DialectRoute = (
  request: IncomingMessage,
  response: ServerResponse,
  client: Pick<DialectContext, "clientId">,
) => Promise<void>;

/** The route that serves `dialect`'s completion endpoint. */
export function dialectRoute<S>(dialect: Dialect<S>, deps: DialectRouteDeps): DialectRoute {
  const { service, clock, log, io } = deps;

  async function unary(response: ServerResponse, request: ServiceRequest, state: S): Promise<void> {
    let result: CompletionResult;
    // the client hung up: its request was cancelled on its behalf; nobody is left to answer
    let clientGone = false;
    try {
      result = await service.complete(request, {
        onCancel: (cancel) =>
          response.once("close", () => {
            if (response.writableFinished) return;
            clientGone = true;
            cancel();
          }),
      });
    } catch (error) {
      if (clientGone || !isOpen(response)) {
        log.debug({ error: describe(error) }, "unary request ended after its client left");
        return;
      }
      io.sendError(response, toInferenceError(error), { request: { deployment: request.model }, dialect });
      return;
    }
    const context = { requestId: result.requestId, model: request.model, nowMs: clock.now() };
    const json = await dialect.unaryBody(result, context, state);
    io.sendJson(response, 200, json, {
      "x-rakka-deployment": headerValue(result.deployment),
      ...(result.node !== undefined ? { "x-rakka-node": headerValue(result.node) } : {}),
      "x-request-id": headerValue(result.requestId),
    });
  }

  async function streamed(response: ServerResponse, request: ServiceRequest, state: S): Promise<void> {
    let handle: RequestHandle;
    try {
      handle = service.start(request);
    } catch (error) {
      io.sendError(response, toInferenceError(error), { request: { deployment: request.model }, dialect });
      return;
    }
    const logContext: RequestLogContext = { requestId: handle.requestId, deployment: request.model };
    const iterator = handle.chunks[Symbol.asyncIterator]();
    // `ended`: the chunks ran out or threw, so the request reached its end by itself. Until then a
    // client that goes away (or a write that finds it gone) cancels it, once.
    let ended = false;
    let cancelled = false;
    const cancel = () => {
      if (ended || cancelled) return;
      cancelled = true;
      handle.cancel();
    };
    response.once("close", cancel);
    const pull = async (): Promise<IteratorResult<TokenChunk>> => {
      try {
        const next = await iterator.next();
        if (next.done) ended = true;
        return next;
      } catch (error) {
        ended = true;
        throw error;
      }
    };
    try {
      let next: IteratorResult<TokenChunk>;
      try {
        next = await pull();
      } catch (error) {
        // Before commit: still a plain HTTP error with the right status (docs/architecture.md, request rules).
        io.sendError(response, toInferenceError(error), { request: logContext, dialect });
        return;
      }
      if (!isOpen(response)) return;

      const writer = new SseWriter(response);
      const encoder = dialect.streamEncoder(
        { requestId: handle.requestId, model: request.model, nowMs: clock.now() },
        state,
      );
      const fail = (failure: InferenceError) => writer.end(encoder.fail(failure, httpStatusOf(failure.kind)));
      const node = handle.servedOn();
      writer.begin({
        "x-rakka-deployment": headerValue(handle.servedBy() ?? request.model),
        ...(node !== undefined ? { "x-rakka-node": headerValue(node) } : {}),
        "x-request-id": headerValue(handle.requestId),
      });
      const opening = encoder.start();
      if (opening !== "" && !(await proceeds(writer.events(opening)))) return;
      let finishReason: FinishReason | undefined;
      let usage: TokenUsage | undefined;
      while (!next.done) {
        const chunk = next.value;
        if (chunk.finishReason) finishReason = chunk.finishReason;
        if (chunk.usage) usage = chunk.usage;
        const payload = encoder.chunk(chunk);
        if (payload !== undefined) {
          const written = writer.events(payload);
          // the common case needs no await: one less microtask per token
          if (written !== true && !(await written)) return;
        }
        try {
          next = await pull();
        } catch (error) {
          // After commit: the dialect's error event ends the stream; never its success terminator.
          const failure = toInferenceError(error);
          if (httpStatusOf(failure.kind) >= 500)
            log.warn({ ...logContext, code: failure.code }, `stream failed after commit: ${failure.message}`);
          fail(failure);
          return;
        }
      }
      if (finishReason === undefined) {
        // The chunks ended without a final chunk: the request was cancelled, not finished. Never
        // dress that up as a finished stream; if the client is still there it gets the
        // post-commit error event (docs/architecture.md, request rules).
        if (!cancelled && isOpen(response)) {
          const failure = errors.internal("the request ended before it finished");
          log.warn({ ...logContext, code: failure.code }, `stream failed after commit: ${failure.message}`);
          fail(failure);
        }
        return;
      }
      const last = encoder.finish(finishReason, usage);
      writer.end(typeof last === "string" ? last : await last);
    } finally {
      if (!ended) {
        cancel();
        iterator.return?.()?.catch(() => undefined);
      }
    }
  }

  return async (request, response, client) => {
    const body = await io.readJson(request, response, dialect);
    if (!body) return;
    const parsed = await dialect.parse(body.value, { clientId: client.clientId, nowMs: clock.now() });
    if (!parsed.ok) {
      io.sendError(response, parsed.error, { dialect });
      return;
    }
    if (parsed.request.stream) await streamed(response, parsed.request, parsed.state);
    else await unary(response, parsed.request, parsed.state);
  };
}

function isOpen(response: ServerResponse): boolean {
  return !response.writableEnded && !response.destroyed;
}

/** Header values must be visible ASCII; anything else (a client's odd model name) is URI-encoded. */
export function headerValue(value: string): string {
  return /^[\x20-\x7e]*$/.exec(value) !== null ? value : encodeURIComponent(value);
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** An SseWriter result as a promise (for the rare writes outside the per-token loop). */
function proceeds(written: boolean | Promise<boolean>): Promise<boolean> {
  return typeof written === "boolean" ? Promise.resolve(written) : written;
}
