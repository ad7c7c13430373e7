// The request features only some runtimes honour, as one typed model every dialect parses into and
// every provider encodes from (docs/api.md, "Tools and response formats"): tool definitions, the
// tool choice, whether tool calls may run in parallel, the response format, the reasoning effort,
// the end-user id.

/** A JSON object as the client sent it (a JSON Schema, say): never interpreted by the core. */
export type JsonObject = Readonly<Record<string, unknown>>;

/** A function the model may call. */
export interface ToolDefinition {
  /** 1–64 letters, digits, `_` or `-`. */
  readonly name: string;
  readonly description?: string;
  /** The arguments' JSON Schema (an object schema). */
  readonly parameters?: JsonObject;
  /** Ask the provider to keep the arguments exactly to the schema (OpenAI's structured tools). */
  readonly strict?: boolean;
}

/** `auto`: the model decides; `none`: no tool; `required`: at least one; `{ name }`: that one. */
export type ToolChoice = "auto" | "none" | "required" | { readonly name: string };

export type ResponseFormat =
  | { readonly type: "text" }
  | { readonly type: "json_object" }
  | {
      readonly type: "json_schema";
      readonly name: string;
      readonly description?: string;
      readonly schema?: JsonObject;
      readonly strict?: boolean;
    };

/** How hard a reasoning model thinks (OpenAI's `reasoning_effort` values). */
export const reasoningEfforts = ["none", "minimal", "low", "medium", "high", "xhigh", "max"] as const;
export type ReasoningEffort = (typeof reasoningEfforts)[number];

export interface RequestFeatures {
  readonly tools?: readonly ToolDefinition[];
  readonly toolChoice?: ToolChoice;
  /** false: at most one tool call per turn; absent: the provider's default (parallel). */
  readonly parallelToolCalls?: boolean;
  readonly responseFormat?: ResponseFormat;
  /** How hard a reasoning model should think; absent: the provider's default. */
  readonly reasoningEffort?: ReasoningEffort;
  /** The client's end-user id (`user`); OpenAI-family upstreams get it, local runtimes ignore it. */
  readonly user?: string;
}
