// Helpers shared by the integration tests: run a stream in the background and record what
// arrived when, and read one sample out of Prometheus text.

import type { TokenChunk } from "../../src/core/token-chunk.js";
import type { ManualClock } from "../../src/testkit/manual-clock.js";

export interface Recorded {
  readonly chunks: Array<{ chunk: TokenChunk; at: number }>;
  error: unknown;
  done: boolean;
  /** Resolves when the stream ended (successfully or not). */
  readonly finished: Promise<void>;
}

export function record(stream: AsyncIterable<TokenChunk>, clock: ManualClock): Recorded {
  const recorded = {
    chunks: [] as Array<{ chunk: TokenChunk; at: number }>,
    error: undefined as unknown,
    done: false,
  };
  const finished = (async () => {
    try {
      for await (const chunk of stream) recorded.chunks.push({ chunk, at: clock.now() });
    } catch (error) {
      recorded.error = error;
    } finally {
      recorded.done = true;
    }
  })();
  return Object.assign(recorded, { finished });
}

export function text(recorded: Recorded): string {
  return recorded.chunks.map((entry) => entry.chunk.text).join("");
}

/** The value of one sample, e.g. sample(text, "rakka_requests_total", { deployment: "a", outcome: "success" }). */
export function sample(
  metrics: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of metrics.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const matches = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (matches) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

/** Sum of every sample of `name` whose labels include `labels`. */
export function sumSamples(metrics: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of metrics.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}
