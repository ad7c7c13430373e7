// The provider contract (docs/providers.md, "The provider contract"): one suite every remote
// provider runs against its own wire's mock upstream, through the whole system over real HTTP —
// the official openai client (retries off, keep-alive) → gateway → remote engine → the provider's
// adapter → the testkit's scripted mock speaking that provider's wire, on the manual clock. It
// covers text, tool calls (argument deltas reassembled), the tool-result round trip, the reasoning
// round trip of an SDK agent loop, an image part, usage, each error class, an error mid-stream
// before and after commit, and each stop reason. Each provider's fixture says how its upstream
// body carries what the suite checks, and what its wire reports.

import OpenAI from "openai";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { ManualClock, until } from "../../src/testkit/manual-clock.js";
import {
  badRequest,
  complete,
  contextLengthExceeded,
  errorMidStream,
  errorResponse,
  forbidden,
  type MockBehaviour,
  type MockProvider,
  overloaded,
  rateLimited,
  serverError,
  startMockProvider,
  unauthorized,
} from "../../src/testkit/mock-provider.js";
import type { MockWire } from "../../src/testkit/mock-wire.js";

/** A tool result as the provider's upstream body carries it. */
export interface SentToolResult {
  /** The call it answers, by id (OpenAI, Anthropic) … */
  readonly callId?: string;
  /** … or by function name (Gemini). */
  readonly name?: string;
  /** The result as the upstream got it, as JSON text (a string result stays a JSON string). */
  readonly output: string;
}

export interface ProviderFixture {
  /** The describe label. */
  readonly name: string;
  readonly runtime: string;
  /** The deployment's model (picks the provider's model tables). */
  readonly model: string;
  readonly wires: readonly MockWire[];
  runtimeConfig(mockUrl: string): Record<string, unknown>;
  /** What this provider's wire reports back. */
  readonly reports: {
    /** Reasoning text streamed apart from content (`reasoning_content`). */
    readonly reasoningText: boolean;
    /** Signed reasoning blocks (`thinking_blocks`, replayed on the next turn). */
    readonly signedBlocks: boolean;
    /** A signature per tool call (`extra_content.google.thought_signature`, and inside the id). */
    readonly callSignatures: boolean;
    /** Tool-call ids are the provider's own (false: the gateway generates them). */
    readonly upstreamToolIds: boolean;
    /** Reasoning tokens in usage. */
    readonly reasoningTokens: boolean;
  };
  /** The upstream body's last tool result. */
  toolResultSent(body: unknown): SentToolResult | undefined;
  /** The upstream body's image of the last user turn. */
  imageSent(body: unknown): { readonly mediaType: string; readonly data: string } | undefined;
  /** Every reasoning signature the upstream body replays (blocks and calls), in order. */
  signaturesSent(body: unknown): string[];
  /** Wire-specific stop reasons: the mock's native value → the client's finish_reason. */
  readonly nativeStopReasons: ReadonlyArray<readonly [string, string]>;
  /** Wire-specific error classes beside the shared ones. */
  readonly extraErrors?: ReadonlyArray<ErrorCase>;
}

export interface ErrorCase {
  readonly label: string;
  readonly behaviour: MockBehaviour;
  /** The client's HTTP status and error code. */
  readonly status: number;
  readonly code: string;
  /** The upstream requests it takes (2: a 401 rebuilds the session and tries once more). */
  readonly upstreamRequests?: number;
  readonly retryAfter?: string;
}

/** A 403 from the upstream: a permission error of the client's request. */
export const forbiddenCase: ErrorCase = {
  label: "a permission error",
  behaviour: forbidden(),
  status: 403,
  code: "forbidden",
};

/** The error classes every wire maps the same way (docs/providers.md, the failure tables). */
const sharedErrors: readonly ErrorCase[] = [
  { label: "a rate limit", behaviour: rateLimited(7), status: 429, code: "rate_limited", retryAfter: "7" },
  {
    label: "a bad upstream key (the session rebuilt once)",
    behaviour: unauthorized(),
    status: 502,
    code: "upstream_unauthorized",
    upstreamRequests: 2,
  },
  { label: "an invalid request", behaviour: badRequest("bad field"), status: 400, code: "bad_request" },
  {
    label: "a prompt over the context window",
    behaviour: contextLengthExceeded(),
    status: 400,
    code: "context_length_exceeded",
  },
  {
    label: "an unknown model",
    behaviour: errorResponse(404, { kind: "not_found", message: "no such model" }),
    status: 404,
    code: "not_found",
  },
  { label: "a server error", behaviour: serverError(500), status: 502, code: "server_error" },
  { label: "an overloaded upstream", behaviour: overloaded(), status: 502, code: "server_error" },
];

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

/** A reasoning signature as providers send them: base64 (with `+`, `/` and padding, so an id must carry it losslessly). */
const SIGNATURE = "EqQBCk+gIA/RAA==";

const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

export function runProviderContract(fixture: ProviderFixture): void {
  describe(`provider contract: ${fixture.name}`, () => {
    let clock: ManualClock;
    let mock: MockProvider;
    let system: InferenceSystem;
    let gateway: ListeningGateway;
    let client: OpenAI;
    let agent: Agent;

    beforeAll(async () => {
      clock = new ManualClock();
      mock = await startMockProvider({ wires: fixture.wires });
      system = await createInferenceSystem({
        clock,
        random: () => 0.5,
        deployments: [
          {
            name: "model",
            model: fixture.model,
            runtime: fixture.runtime,
            runtime_config: {
              ...fixture.runtimeConfig(mock.url),
              retry: { max_retries: 0 },
              circuit_breaker: { failure_threshold: 1000 },
            },
          },
          {
            name: "retrying",
            model: fixture.model,
            runtime: fixture.runtime,
            runtime_config: {
              ...fixture.runtimeConfig(mock.url),
              retry: { max_retries: 1, initial_backoff_ms: 0, jitter: "none" },
              circuit_breaker: { failure_threshold: 1000 },
            },
          },
        ],
      });
      gateway = await system.listen({ bind: "127.0.0.1:0" });
      agent = new Agent({ keepAliveTimeout: 10_000 });
      client = new OpenAI({
        baseURL: `${gateway.url}/v1`,
        apiKey: "client",
        maxRetries: 0,
        fetch: ((input: string | URL | Request, init?: RequestInit) =>
          undiciFetch(input as string, {
            ...(init as object),
            dispatcher: agent,
          })) as unknown as typeof fetch,
      });
    });

    afterAll(async () => {
      await system.close({ drainTimeoutMs: 0 });
      await mock.close();
      await agent.close();
    });

    beforeEach(() => {
      mock.reset();
    });

    const lastBody = () => mock.requests[mock.requests.length - 1]?.body;
    const ask = (extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
      client.chat.completions.create({
        model: "model",
        messages: [{ role: "user", content: "What is the weather in Oslo?" }],
        ...extra,
      });
    const failureOf = async (promise: Promise<unknown>) => {
      try {
        await promise;
      } catch (error) {
        return error as { status?: number; code?: string; headers?: Headers };
      }
      throw new Error("expected the request to fail");
    };

    // ── text ──────────────────────────────────────────────────────────────────────────────────

    it("text, unary: the content joined, finish_reason stop", async () => {
      mock.script(complete({ content: ["The weather", " is mild."] }));
      const answer = await ask();
      expect(answer.choices[0]?.message.content).toBe("The weather is mild.");
      expect(answer.choices[0]?.finish_reason).toBe("stop");
      expect(mock.requests[0]?.wire).toBe(fixture.wires[0]?.name);
    });

    it("text, streaming: every piece in order, then finish_reason stop", async () => {
      mock.script(complete({ content: ["The weather", " is", " mild."] }));
      const stream = await client.chat.completions.create({
        model: "model",
        messages: [{ role: "user", content: "weather?" }],
        stream: true,
      });
      const pieces: string[] = [];
      let finish: string | null | undefined;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (choice?.delta.content) pieces.push(choice.delta.content);
        if (choice?.finish_reason) finish = choice.finish_reason;
      }
      expect(pieces.join("")).toBe("The weather is mild.");
      expect(finish).toBe("stop");
    });

    // ── tools ─────────────────────────────────────────────────────────────────────────────────

    const toolCallAnswer = () =>
      complete({
        content: [],
        toolCalls: [{ id: "call_w1", name: "get_weather", arguments: ['{"city"', ':"Oslo"}'] }],
      });

    it("a tool call, unary: name and whole arguments, finish_reason tool_calls", async () => {
      mock.script(toolCallAnswer());
      const answer = await ask({ tools: [weatherTool] });
      const call = answer.choices[0]?.message.tool_calls?.[0];
      expect(call?.type).toBe("function");
      if (call?.type !== "function") return;
      expect(call.function).toEqual({ name: "get_weather", arguments: '{"city":"Oslo"}' });
      if (fixture.reports.upstreamToolIds) expect(call.id).toBe("call_w1");
      else expect(call.id).toMatch(/^call_/);
      expect(answer.choices[0]?.finish_reason).toBe("tool_calls");
    });

    it("a tool call, streaming: the SDK reassembles the argument deltas", async () => {
      mock.script(toolCallAnswer());
      const stream = client.chat.completions.stream({
        model: "model",
        messages: [{ role: "user", content: "What is the weather in Oslo?" }],
        tools: [weatherTool],
      });
      const final = await stream.finalChatCompletion();
      const call = final.choices[0]?.message.tool_calls?.[0];
      expect(call?.type === "function" ? call.function : undefined).toEqual({
        name: "get_weather",
        arguments: '{"city":"Oslo"}',
      });
      expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    });

    it("the tool-result round trip: the result reaches the upstream tied to its call", async () => {
      mock.script(complete({ content: ["It is 3 degrees."] }));
      const answer = await ask({
        tools: [weatherTool],
        messages: [
          { role: "user", content: "What is the weather in Oslo?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: "call_w1",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
              },
            ],
          },
          { role: "tool", tool_call_id: "call_w1", content: '{"celsius":3}' },
        ],
      });
      expect(answer.choices[0]?.message.content).toBe("It is 3 degrees.");
      const sent = fixture.toolResultSent(lastBody());
      expect(sent).toBeDefined();
      expect(sent?.callId === "call_w1" || sent?.name === "get_weather").toBe(true);
      expect(JSON.parse(sent?.output ?? "null")).toEqual(
        expect.objectContaining({ celsius: 3 }) as unknown as Record<string, unknown>,
      );
    });

    // ── reasoning ─────────────────────────────────────────────────────────────────────────────

    it("the reasoning round trip: an SDK agent loop sends the signed reasoning back", async () => {
      mock.script(
        complete({
          reasoning: ["Oslo is", " in Norway."],
          reasoningSignature: SIGNATURE,
          content: [],
          toolCalls: [{ id: "call_w1", name: "get_weather", arguments: ['{"city":"Oslo"}'] }],
        }),
        complete({ content: ["It is 3 degrees."] }),
      );
      const messages: OpenAI.ChatCompletionMessageParam[] = [
        { role: "user", content: "What is the weather in Oslo?" },
      ];
      const first = await ask({ tools: [weatherTool], messages, reasoning_effort: "low" });
      const message = first.choices[0]?.message as OpenAI.ChatCompletionMessage & Record<string, unknown>;
      expect(message.content ?? "").not.toContain("Oslo is");
      if (fixture.reports.reasoningText) expect(message.reasoning_content).toBe("Oslo is in Norway.");
      if (fixture.reports.signedBlocks) {
        expect(message.thinking_blocks).toEqual([
          { type: "thinking", thinking: "Oslo is in Norway.", signature: SIGNATURE },
        ]);
      }
      const call = message.tool_calls?.[0];
      expect(call).toBeDefined();
      if (call === undefined) return;
      if (fixture.reports.callSignatures) {
        expect((call as unknown as Record<string, unknown>).extra_content).toEqual({
          google: { thought_signature: SIGNATURE },
        });
      }
      // the loop every openai-SDK user writes: push the message, append the result, call again
      messages.push(message);
      messages.push({ role: "tool", tool_call_id: call.id, content: '{"celsius":3}' });
      const second = await ask({ tools: [weatherTool], messages, reasoning_effort: "low" });
      expect(second.choices[0]?.message.content).toBe("It is 3 degrees.");
      const replays = fixture.reports.signedBlocks || fixture.reports.callSignatures;
      expect(fixture.signaturesSent(lastBody())).toEqual(replays ? [SIGNATURE] : []);
      if (fixture.reports.callSignatures && call.type === "function") {
        // a client that rebuilds the message from its own types keeps only id, name and arguments
        mock.script(complete({ content: ["Still 3 degrees."] }));
        await ask({
          tools: [weatherTool],
          reasoning_effort: "low",
          messages: [
            messages[0] as OpenAI.ChatCompletionMessageParam,
            {
              role: "assistant",
              content: null,
              tool_calls: [{ id: call.id, type: "function", function: call.function }],
            },
            { role: "tool", tool_call_id: call.id, content: '{"celsius":3}' },
          ],
        });
        expect(fixture.signaturesSent(lastBody())).toEqual([SIGNATURE]);
      }
    });

    // ── images, usage ─────────────────────────────────────────────────────────────────────────

    it("an image part reaches the upstream as the provider's image, media type and bytes kept", async () => {
      mock.script(complete({ content: ["A dot."] }));
      await ask({
        messages: [
          {
            role: "user",
            content: [
              { type: "text", text: "What is this?" },
              { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}` } },
            ],
          },
        ],
      });
      expect(fixture.imageSent(lastBody())).toEqual({ mediaType: "image/png", data: PNG });
    });

    it("usage in OpenAI's convention: prompt includes cached tokens, completion includes reasoning", async () => {
      mock.script(
        complete({
          usage: {
            prompt_tokens: 100,
            completion_tokens: 20,
            prompt_tokens_details: { cached_tokens: 30 },
            cache_write_tokens: 10,
            completion_tokens_details: { reasoning_tokens: 5 },
          },
        }),
      );
      const answer = await ask();
      expect(answer.usage?.prompt_tokens).toBe(100);
      expect(answer.usage?.completion_tokens).toBe(20);
      expect(answer.usage?.total_tokens).toBe(120);
      expect(answer.usage?.prompt_tokens_details?.cached_tokens).toBe(30);
      if (fixture.reports.reasoningTokens)
        expect(answer.usage?.completion_tokens_details?.reasoning_tokens).toBe(5);
    });

    // ── errors ────────────────────────────────────────────────────────────────────────────────

    for (const errorCase of [...sharedErrors, ...(fixture.extraErrors ?? [])]) {
      it(`${errorCase.label} → ${errorCase.status} ${errorCase.code}`, async () => {
        mock.setDefault(errorCase.behaviour);
        const error = await failureOf(ask());
        expect(error.status).toBe(errorCase.status);
        expect(error.code).toBe(errorCase.code);
        if (errorCase.retryAfter !== undefined)
          expect(error.headers?.get("retry-after")).toBe(errorCase.retryAfter);
        expect(mock.arrivals).toBe(errorCase.upstreamRequests ?? 1);
      });
    }

    it("a retryable error is retried and the retry's answer is the client's", async () => {
      mock.script(overloaded(), complete({ content: ["after a retry"] }));
      const pending = client.chat.completions.create({
        model: "retrying",
        messages: [{ role: "user", content: "hi" }],
      });
      await mock.waitForRequests(1);
      await until(() => clock.hasTimerAt(clock.now()));
      await clock.advance(0);
      const answer = await pending;
      expect(answer.choices[0]?.message.content).toBe("after a retry");
      expect(mock.arrivals).toBe(2);
    });

    it("an error event before anything was shown is retried; the client sees one clean answer", async () => {
      mock.script(errorMidStream(0), complete({ content: ["clean"] }));
      const pending = client.chat.completions.create({
        model: "retrying",
        messages: [{ role: "user", content: "hi" }],
      });
      await mock.waitForRequests(1);
      await until(() => clock.hasTimerAt(clock.now()));
      await clock.advance(0);
      expect((await pending).choices[0]?.message.content).toBe("clean");
      expect(mock.arrivals).toBe(2);
    });

    it("an error event after content ends the stream with the typed error event, never a finish", async () => {
      mock.script(errorMidStream(1));
      const stream = await client.chat.completions.create({
        model: "retrying",
        messages: [{ role: "user", content: "hi" }],
        stream: true,
      });
      const pieces: string[] = [];
      let finished = false;
      let failure: unknown;
      try {
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
          if (chunk.choices[0]?.finish_reason) finished = true;
        }
      } catch (error) {
        failure = error;
      }
      expect(pieces.join("")).toBe("chunk1");
      expect(finished).toBe(false);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      expect(mock.arrivals).toBe(1); // committed: never retried
    });

    // ── stop reasons ──────────────────────────────────────────────────────────────────────────

    const neutralStops: ReadonlyArray<readonly [MockBehaviour, string]> = [
      [complete({ finishReason: "stop" }), "stop"],
      [complete({ finishReason: "length" }), "length"],
      [complete({ finishReason: "content_filter" }), "content_filter"],
      [toolCallAnswer(), "tool_calls"],
    ];
    for (const [behaviour, expected] of [
      ...neutralStops,
      ...fixture.nativeStopReasons.map(
        ([native, expected]) => [complete({ nativeFinishReason: native }), expected] as const,
      ),
    ]) {
      const label =
        behaviour.type === "complete" && behaviour.nativeFinishReason !== undefined
          ? `the wire's ${behaviour.nativeFinishReason}`
          : behaviour.type === "complete"
            ? (behaviour.finishReason ?? "a tool call")
            : behaviour.type;
      it(`stop reason: ${label} → finish_reason ${expected}`, async () => {
        mock.script(behaviour);
        const answer = await ask({ tools: [weatherTool] });
        expect(answer.choices[0]?.finish_reason).toBe(expected);
      });
    }
  });
}
