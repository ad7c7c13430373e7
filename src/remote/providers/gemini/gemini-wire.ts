// The Gemini API wire format (generativelanguage.googleapis.com, `:streamGenerateContent?alt=sse`):
// the subset of GenerateContentRequest we send, of the GenerateContentResponse chunks we read, and
// of Google's error body. Written by convert-to-gemini-request.ts, read by gemini-stream-decoder.ts
// and map-gemini-error.ts (docs/providers.md, `runtime = "gemini"`).

/** JSON Schema or a JSON value as the client sent it: passed through, never interpreted. */
export type GeminiJsonObject = Record<string, unknown>;

export interface GeminiFunctionCall {
  name: string;
  args?: GeminiJsonObject;
  /** Only some Gemini surfaces send one; the decoder makes its own ids (gemini-tool-call-id.ts). */
  id?: string;
}

export interface GeminiFunctionResponse {
  name: string;
  response: GeminiJsonObject;
  id?: string;
}

export interface GeminiPart {
  text?: string;
  /** True on a thought summary part (only sent with `thinkingConfig.includeThoughts`). */
  thought?: boolean;
  /** Opaque, base64: the reasoning behind this part, replayed on the next turn (Gemini 3 requires it on calls). */
  thoughtSignature?: string;
  functionCall?: GeminiFunctionCall;
  functionResponse?: GeminiFunctionResponse;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
}

export type GeminiRole = "user" | "model";

export interface GeminiContent {
  role?: GeminiRole;
  parts: GeminiPart[];
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  /** Standard JSON Schema (the older `parameters` takes only the OpenAPI subset). */
  parametersJsonSchema?: GeminiJsonObject;
}

export type GeminiFunctionCallingMode = "AUTO" | "ANY" | "NONE";

export interface GeminiToolConfig {
  functionCallingConfig: { mode: GeminiFunctionCallingMode; allowedFunctionNames?: string[] };
}

export type GeminiThinkingLevel = "MINIMAL" | "LOW" | "MEDIUM" | "HIGH";

export interface GeminiThinkingConfig {
  includeThoughts?: boolean;
  /** Gemini 2.5: tokens of thinking (0 turns it off where the model allows). */
  thinkingBudget?: number;
  /** Gemini 3: a level instead of a budget. */
  thinkingLevel?: GeminiThinkingLevel;
}

export interface GeminiGenerationConfig {
  maxOutputTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stopSequences?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseMimeType?: string;
  /** Standard JSON Schema for the response (with `responseMimeType: "application/json"`). */
  responseJsonSchema?: GeminiJsonObject;
  thinkingConfig?: GeminiThinkingConfig;
}

export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: Array<{ text: string }> };
  tools?: Array<{ functionDeclarations: GeminiFunctionDeclaration[] }>;
  toolConfig?: GeminiToolConfig;
  generationConfig?: GeminiGenerationConfig;
}

export interface GeminiUsageMetadata {
  /** The prompt, cached tokens included. */
  promptTokenCount?: number;
  /** The response, thoughts excluded. */
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  toolUsePromptTokenCount?: number;
  totalTokenCount?: number;
}

export interface GeminiCandidate {
  content?: { role?: string; parts?: GeminiPart[] };
  /** STOP, MAX_TOKENS, SAFETY, RECITATION, LANGUAGE, OTHER, BLOCKLIST, … (docs/providers.md). */
  finishReason?: string;
  index?: number;
}

/** One GenerateContentResponse: a whole unary answer, or one chunk of a stream. */
export interface GeminiResponseChunk {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string };
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
  responseId?: string;
  /** An error sent inside a 200 stream. */
  error?: GeminiError;
}

/** `google.rpc.Status` as the Gemini API sends it. */
export interface GeminiError {
  /** The HTTP status. */
  code?: number;
  message?: string;
  /** The canonical code: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE, … */
  status?: string;
  /** Typed details, e.g. `{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"}`. */
  details?: Array<{ "@type"?: string; retryDelay?: string; reason?: string } & Record<string, unknown>>;
}

export interface GeminiErrorBody {
  error?: GeminiError;
}
