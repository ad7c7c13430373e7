// runtime_config of `runtime = "litellm"`: a LiteLLM proxy (OpenAI wire format at its URL). The
// proxy retries itself, so ours default to one retry.

import { type BaseUrlConfig, baseUrlConfigSchema } from "../openai/base-url-provider.js";

export const liteLlmConfigSchema = baseUrlConfigSchema(1);

export type LiteLlmConfig = BaseUrlConfig;
