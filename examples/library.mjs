// Embedding rakka-inference as a library: the same system as `rakka serve`, without HTTP.
// Run after `npm ci`: node examples/library.mjs
import { createInferenceSystem } from "rakka-inference";

const system = await createInferenceSystem({
  deployments: [
    { name: "echo", model: "echo-1", runtime: "mock", runtime_config: { tokens_per_second: 20 } },
  ],
});

const result = await system.complete({
  model: "echo",
  messages: [{ role: "user", content: "the quick brown fox" }],
  max_tokens: 6,
});
console.log(
  `complete: ${JSON.stringify(result.text)} (${result.finishReason}, ${result.usage.outputTokens} tokens)`,
);

process.stdout.write("stream:  ");
for await (const chunk of system.stream({
  model: "echo",
  messages: [{ role: "user", content: "jumps over" }],
  max_tokens: 5,
})) {
  process.stdout.write(chunk.text);
}
process.stdout.write("\n");

// the same system can also listen for OpenAI-compatible HTTP clients
const gateway = await system.listen({ bind: "127.0.0.1:0" });
console.log(`listening on ${gateway.url} — try: curl ${gateway.url}/v1/models`);

await system.close();
