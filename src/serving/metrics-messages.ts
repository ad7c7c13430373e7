// What the MetricsActor is told. The RequestActor reports one `request-finished` per request;
// engines report through the EngineObserver adapter; the manager reports deployment states.

import type { ActorRef } from "../actor/index.js";
import type { InferenceErrorKind } from "../core/inference-error.js";

export type RequestOutcome = "success" | "cancelled" | InferenceErrorKind;

export type MetricsMessage =
  | {
      readonly type: "request-finished";
      readonly deployment: string;
      readonly outcome: RequestOutcome;
      /** Seconds from arrival to the first committed chunk; absent when none was sent. */
      readonly timeToFirstTokenSeconds?: number;
      readonly e2eSeconds: number;
      /** Gaps between consecutive committed chunks, seconds. */
      readonly interTokenSeconds: readonly number[];
      readonly inputTokens: number;
      readonly outputTokens: number;
    }
  | { readonly type: "queue-time"; readonly deployment: string; readonly seconds: number }
  | {
      readonly type: "engine-load";
      readonly deployment: string;
      readonly replicaId: string;
      readonly running: number;
      readonly waiting: number;
    }
  | { readonly type: "replica-removed"; readonly deployment: string; readonly replicaId: string }
  | {
      readonly type: "deployment-state";
      readonly deployment: string;
      readonly state: "pending" | "serving" | "draining" | "removed" | "failed";
    }
  | { readonly type: "worker-rebuilt"; readonly deployment: string }
  /** One llama.cpp decode step: how many sequences and tokens it evaluated together. */
  | {
      readonly type: "decode-step";
      readonly deployment: string;
      readonly sequences: number;
      readonly tokens: number;
    }
  | { readonly type: "scrape"; readonly replyTo: ActorRef<string> };
