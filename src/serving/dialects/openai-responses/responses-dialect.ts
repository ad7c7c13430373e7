// OpenAI's Responses API as a dialect (src/core/dialect.ts; docs/api.md, "Responses API"):
// `parse` validates the body (responses-request.ts) and reads the client's stored responses for
// `previous_response_id` and `item_reference` items; the answer — unary or the last events of a
// stream — is stored before it is sent when `store` is on, so a GET right after sees it. A store
// that fails to keep it does not fail the answer: the answer says `store: false`.

import type { Clock } from "../../../actor/index.js";
import type { Message } from "../../../core/batch.js";
import type {
  AnswerContext,
  CompletionResult,
  Dialect,
  DialectContext,
  DialectParse,
  StreamEncoder,
} from "../../../core/dialect.js";
import { errors, storeFailure } from "../../../core/inference-error.js";
import type { ResponseStore, StoredResponse } from "../../../core/stores/response-store.js";
import type { TokenChunk } from "../../../core/token-chunk.js";
import { openAiErrorBody } from "../openai/openai-error-body.js";
import { type ConversationItem, itemsToMessages } from "./responses-items.js";
import {
  OutputBuilder,
  type ResponseParts,
  responseId,
  responseIdOfItem,
  responseJson,
  statusOf,
  visibleResponse,
} from "./responses-output.js";
import { parseInputItem, parseResponsesBody, type ResponsesBody } from "./responses-request.js";
import { EventFramer, errorEvent, failedCodeOf } from "./responses-stream.js";
import type { ResponseJson } from "./responses-wire.js";

export interface ResponsesDialectOptions {
  /** Where responses are kept (memory in one process, Redis in a cluster). */
  readonly store: ResponseStore;
  /** How long a stored response lives (`[server] responses_ttl_s`). */
  readonly ttlMs: number;
  /** Injected time: created_at, completed_at, and the store's expiry. */
  readonly clock: Pick<Clock, "now">;
}

/** What an answer needs from its request. */
export interface ResponsesState {
  readonly clientId: string;
  /** When the request was parsed (its `created_at`). */
  readonly createdAtMs: number;
  readonly body: Pick<ResponsesBody, "store" | "includeEncrypted" | "echo">;
  /** The conversation before the answer, without the instructions: what the record keeps. */
  readonly history: readonly Message[];
}

export type ResponsesDialect = Dialect<ResponsesState>;

export function responsesDialect(options: ResponsesDialectOptions): ResponsesDialect {
  const { store, ttlMs, clock } = options;

  /** Keeps the response; false when the store failed (the answer then says `store: false`). */
  async function keep(response: ResponseJson, state: ResponsesState): Promise<boolean> {
    const record: StoredResponse = {
      id: response.id,
      clientId: state.clientId,
      response,
      history: state.history,
    };
    try {
      await store.put(record, ttlMs, clock.now());
      return true;
    } catch {
      return false;
    }
  }

  /** The answer as sent: stored first when asked, the envelope shown only when asked. */
  async function answer(stored: ResponseJson, state: ResponsesState): Promise<ResponseJson> {
    const kept = state.body.store && (await keep(stored, state));
    const sent = kept === stored.store ? stored : { ...stored, store: kept };
    return visibleResponse(sent, state.body.includeEncrypted);
  }

  function baseParts(context: AnswerContext, state: ResponsesState) {
    return {
      id: responseId(context.requestId),
      createdAtMs: state.createdAtMs,
      model: context.model,
      echo: state.body.echo,
      store: state.body.store,
    } satisfies Partial<ResponseParts>;
  }

  return {
    name: "openai-responses",

    async parse(raw: unknown, context: DialectContext): Promise<DialectParse<ResponsesState>> {
      const parsed = parseResponsesBody(raw);
      if (!parsed.ok) return parsed;
      const body = parsed.body;
      const records = new Map<string, Promise<StoredResponse | undefined>>();
      const read = (id: string) => {
        let record = records.get(id);
        if (record === undefined) {
          record = store.get(id, context.clientId, context.nowMs);
          records.set(id, record);
        }
        return record;
      };
      let previous: readonly Message[] = [];
      const items: ConversationItem[] = [];
      try {
        if (body.previousResponseId !== undefined) {
          const record = await read(body.previousResponseId);
          if (record === undefined)
            return { ok: false, error: errors.notFound(`response ${body.previousResponseId} not found`) };
          previous = conversationOf(record);
        }
        for (const [index, item] of body.items.entries()) {
          if (item.kind !== "reference") {
            items.push(item);
            continue;
          }
          const owner = responseIdOfItem(item.id);
          const record = owner === undefined ? undefined : await read(owner);
          const found = record === undefined ? undefined : outputItemOf(record, item.id);
          if (found === undefined)
            return { ok: false, error: errors.notFound(`input[${index}].id: item ${item.id} not found`) };
          items.push(found);
        }
      } catch (error) {
        return { ok: false, error: storeFailure(error) };
      }
      const history = [...previous, ...itemsToMessages(items)];
      if (history.length === 0)
        return { ok: false, error: errors.badRequest("input: holds no message to answer", "input") };
      const messages: Message[] =
        body.instructions === undefined
          ? history
          : [{ role: "system", content: body.instructions }, ...history];
      return {
        ok: true,
        request: {
          model: body.model,
          messages,
          sampling: body.sampling,
          stream: body.stream,
          priority: body.priority,
          features: body.features,
        },
        state: { clientId: context.clientId, createdAtMs: context.nowMs, body, history },
      };
    },

    async unaryBody(result: CompletionResult, context: AnswerContext, state: ResponsesState) {
      const builder = new OutputBuilder(context.requestId, state.body.includeEncrypted);
      builder.chunk(resultChunk(result));
      const { status, incomplete_details } = statusOf(result.finishReason);
      builder.finish(status === "incomplete");
      const stored = responseJson({
        ...baseParts(context, state),
        status,
        incompleteDetails: incomplete_details,
        output: builder.storedItems(),
        usage: result.usage,
        completedAtMs: context.nowMs,
      });
      return answer(stored, state);
    },

    streamEncoder(context: AnswerContext, state: ResponsesState): StreamEncoder {
      const framer = new EventFramer();
      const builder = new OutputBuilder(context.requestId, state.body.includeEncrypted);
      const base = baseParts(context, state);
      const snapshot = (status: "in_progress") =>
        responseJson({ ...base, status, output: builder.visibleItems() });
      return {
        start: () =>
          framer.frame([
            { type: "response.created", response: snapshot("in_progress") },
            { type: "response.in_progress", response: snapshot("in_progress") },
          ]),
        chunk(chunk) {
          const events = builder.chunk(chunk);
          return events.length === 0 ? undefined : framer.frame(events);
        },
        async finish(reason, usage) {
          const { status, incomplete_details } = statusOf(reason);
          const closing = framer.frame(builder.finish(status === "incomplete"));
          const stored = responseJson({
            ...base,
            status,
            incompleteDetails: incomplete_details,
            output: builder.storedItems(),
            usage,
            completedAtMs: clock.now(),
          });
          const response = await answer(stored, state);
          const type = status === "completed" ? "response.completed" : "response.incomplete";
          return closing + framer.frame([{ type, response }]);
        },
        fail(error, status) {
          const failed = responseJson({
            ...base,
            status: "failed",
            output: builder.visibleItems(),
            error: { code: failedCodeOf(error), message: error.message },
          });
          return framer.frame([errorEvent(error, status), { type: "response.failed", response: failed }]);
        },
      };
    },

    errorBody: openAiErrorBody,
  };
}

/** A whole answer as one chunk, so the unary output is built as a stream's would be. */
function resultChunk(result: CompletionResult): TokenChunk {
  const chunk: { -readonly [K in keyof TokenChunk]: TokenChunk[K] } = {
    text: result.text,
    toolCalls: result.toolCalls.map((call, index) => ({
      index,
      id: call.id,
      type: "function",
      function: { name: call.function.name, arguments: call.function.arguments },
      ...(call.signature !== undefined ? { signature: call.signature } : {}),
    })),
  };
  if (result.refusal) chunk.refusal = result.refusal;
  if (result.reasoning) chunk.reasoning = result.reasoning;
  if (result.reasoningBlocks && result.reasoningBlocks.length > 0)
    chunk.reasoningBlocks = result.reasoningBlocks;
  return chunk;
}

/** A stored response's output items as conversation items (what `previous_response_id` adds). */
function outputItemsOf(record: StoredResponse): ConversationItem[] {
  const items: ConversationItem[] = [];
  for (const item of (record.response as ResponseJson).output) {
    const parsed = parseInputItem(item, ["output"]);
    if (parsed.ok && parsed.value.kind !== "reference") items.push(parsed.value);
  }
  return items;
}

/** The whole conversation a stored response ends: its history and its output. */
function conversationOf(record: StoredResponse): Message[] {
  return [...record.history, ...itemsToMessages(outputItemsOf(record))];
}

/** One output item of a stored response, by id, as a conversation item. */
function outputItemOf(record: StoredResponse, itemId: string): ConversationItem | undefined {
  const item = (record.response as ResponseJson).output.find((output) => output.id === itemId);
  if (item === undefined) return undefined;
  const parsed = parseInputItem(item, ["output"]);
  return parsed.ok && parsed.value.kind !== "reference" ? parsed.value : undefined;
}
