// runtime_config of `runtime = "mock"`: pacing and injectable failures (docs/architecture.md).

import { z } from "zod";

export const mockConfigSchema = z
  .strictObject({
    /** 0 = as fast as possible; otherwise tokens are paced on the injected clock. */
    tokens_per_second: z.number().min(0).default(0),
    /** Throw `server_error` after emitting this many tokens. */
    fail_after_tokens: z.int().min(0).optional(),
    /** Stop emitting (until aborted) after this many tokens. */
    stall_after_tokens: z.int().min(0).optional(),
    /** Throw `context_poisoned` on every request after this many requests have started. */
    poison_after_requests: z.int().min(0).optional(),
    /** Delay of loadWeights on the injected clock. */
    load_delay_ms: z.int().min(0).default(0),
  })
  .transform((table) => ({
    tokensPerSecond: table.tokens_per_second,
    failAfterTokens: table.fail_after_tokens,
    stallAfterTokens: table.stall_after_tokens,
    poisonAfterRequests: table.poison_after_requests,
    loadDelayMs: table.load_delay_ms,
  }));

export type MockConfig = z.output<typeof mockConfigSchema>;
