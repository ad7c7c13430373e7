// A remote deployment in front of the testkit's mock provider, served over real HTTP on the
// manual clock, driven by the official openai client with retries off.
import OpenAI from "openai";
import { createInferenceSystem, type InferenceSystem } from "../../src/index.js";
import type { ListeningGateway } from "../../src/serving/http/http-gateway.js";
import { ManualClock, until } from "../../src/testkit/manual-clock.js";
import { type MockProvider, startMockProvider } from "../../src/testkit/mock-provider.js";

export interface RemoteSetup {
  readonly clock: ManualClock;
  readonly provider: MockProvider;
  readonly system: InferenceSystem;
  readonly gateway: ListeningGateway;
  readonly client: OpenAI;
  close(): Promise<void>;
}

export async function startRemote(options: {
  runtimeConfig?: Record<string, unknown>;
  deployment?: Record<string, unknown>;
  server?: Record<string, unknown>;
  apiKey?: unknown;
}): Promise<RemoteSetup> {
  const clock = new ManualClock();
  const provider = await startMockProvider();
  const system = await createInferenceSystem({
    clock,
    random: () => 0.5,
    server: options.server ?? {},
    deployments: [
      {
        name: "gpt",
        model: "gpt-4o",
        runtime: "openai",
        ...options.deployment,
        runtime_config: {
          api_key: options.apiKey ?? "sk-test",
          base_url: `${provider.url}/v1`,
          ...options.runtimeConfig,
        },
      },
    ],
  });
  const gateway = await system.listen({ bind: "127.0.0.1:0" });
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "client", maxRetries: 0 });
  return {
    clock,
    provider,
    system,
    gateway,
    client,
    async close() {
      await system.close({ drainTimeoutMs: 0 });
      await provider.close();
    },
  };
}

export const ask = (setup: RemoteSetup, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming> = {}) =>
  setup.client.chat.completions.create({
    model: "gpt",
    messages: [{ role: "user", content: "hello there" }],
    ...extra,
  });

/** Settles a promise into a value or the error, so a test can inspect either. */
export function settle<T>(promise: Promise<T>): {
  done: boolean;
  value?: T;
  error?: unknown;
  promise: Promise<void>;
} {
  const state: { done: boolean; value?: T; error?: unknown; promise: Promise<void> } = {
    done: false,
    promise: Promise.resolve(),
  };
  state.promise = promise.then(
    (value) => {
      state.value = value;
      state.done = true;
    },
    (error: unknown) => {
      state.error = error;
      state.done = true;
    },
  );
  return state;
}

/** The HTTP status and the error code an openai client error carries. */
export const statusOf = (error: unknown) => (error as { status?: number }).status;
export const codeOf = (error: unknown) => (error as { code?: string }).code;

/** Waits until the code under test armed a timer at `at`, then advances the clock to it. */
export async function advanceTo(setup: { readonly clock: ManualClock }, at: number): Promise<void> {
  await until(() => setup.clock.hasTimerAt(at));
  await setup.clock.advance(at - setup.clock.now());
}
