// Which runtime serves a deployment, and whether it runs in-process or over HTTP.
// The runtime registry (src/protocol) maps each available kind to its engine.

export type ProviderKind = "openai" | "anthropic" | "gemini" | "litellm" | "openai-compatible";
export type LocalRuntimeKind = "llama" | "mock";
export type RuntimeKind = LocalRuntimeKind | ProviderKind;

export type TransportKind =
  | { readonly type: "local" }
  | { readonly type: "remote"; readonly provider: ProviderKind };

/** Every runtime the project knows of; a build may provide only some (see the registry). */
export const knownRuntimes: readonly RuntimeKind[] = [
  "llama",
  "mock",
  "openai",
  "anthropic",
  "gemini",
  "litellm",
  "openai-compatible",
];

export function isKnownRuntime(value: string): value is RuntimeKind {
  return (knownRuntimes as readonly string[]).includes(value);
}

/**
 * Infers the runtime from a model name: gpt-*, o1*, o3* → openai; claude-* → anthropic;
 * gemini-* → gemini; a path ending in .gguf → llama. Undefined when nothing matches.
 */
export function inferRuntime(model: string): RuntimeKind | undefined {
  const name = model.trim().toLowerCase();
  if (name.endsWith(".gguf")) return "llama";
  if (name.startsWith("gpt-") || name.startsWith("o1") || name.startsWith("o3")) return "openai";
  if (name.startsWith("claude-")) return "anthropic";
  if (name.startsWith("gemini-")) return "gemini";
  return undefined;
}
