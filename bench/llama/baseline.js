// The baseline of the local llama benchmark (bench/llama/run.js): node-llama-cpp 3.21.1 driven
// directly, in this one process, with no HTTP and no actors: for concurrency N, one context with
// N sequences and N concurrent generation loops (`sequence.evaluate`, greedy), each generating
// MAX_TOKENS tokens per request, back to back. The prompt is the one the gateway evaluates: the
// same chat history through the same chat wrapper (resolveChatWrapper), tokenized the same way.
//
// Run by run.js as a child process with an IPC channel (never by hand):
//   node bench/llama/baseline.js MODEL THREADS CONTEXT_SIZE MAX_TOKENS PROMPT [MIN_SEQUENCES]
// (MIN_SEQUENCES, default 0: every context holds at least this many sequences; N of them generate)
// Messages in:  { type: "run", id, sequences, requestsPerLoop, warmup }
//               { type: "exit" }
// Messages out: { type: "ready", promptTokens, loadMs }
//               { type: "result", id, tokens, requests, elapsedMs, ttftMs: [...], warmupMs,
//                 startUs, endUs, steps, stepSequences, stepTokens } (the measured part, on the monotonic clock of process.hrtime,
//                 which V8's CPU profile timestamps share)
//               { type: "error", id?, message }
// The contexts (one per concurrency) are created on first use and kept for the later rounds; the
// process exits when its parent goes away.

import { getLlama, LlamaLogLevel, resolveChatWrapper } from "node-llama-cpp";

// node-llama-cpp's own default batch strategy ("maximumParallelism"; not exported by the package),
// wrapped to count the decode steps: it runs once per llama.cpp decode.
const { maximumParallelismStrategy } = await import(
  new URL(
    "./evaluator/LlamaContext/utils/batchItemsPrioritizationStrategies/maximumParallelismStrategy.js",
    import.meta.resolve("node-llama-cpp"), // …/node-llama-cpp/dist/index.js
  ).href
);
const steps = { count: 0, sequences: 0, tokens: 0 };
function countingStrategy(options) {
  const chosen = maximumParallelismStrategy(options);
  steps.count++;
  steps.sequences += chosen.length;
  for (const entry of chosen) steps.tokens += entry.processAmount;
  return chosen;
}

const [modelPath, threadsText, contextSizeText, maxTokensText, prompt, minSequencesText = "0"] =
  process.argv.slice(2);
if (!process.send || !modelPath || !prompt) {
  console.error("run by bench/llama/run.js (needs an IPC channel and its arguments)");
  process.exit(2);
}
const threads = Number(threadsText);
const contextSize = Number(contextSizeText);
const maxTokens = Number(maxTokensText);
// 0: a context of exactly N sequences for concurrency N; M: at least M (the gateway's layout, N used)
const minSequences = Number(minSequencesText);

// The parent gone (killed, crashed): nothing may outlive it.
process.on("disconnect", () => process.exit(0));

const loadStarted = performance.now();
const llama = await getLlama({
  gpu: false,
  build: "never",
  maxThreads: threads,
  logLevel: LlamaLogLevel.error,
});
const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
const chatWrapper = resolveChatWrapper(model, { fallbackToOtherWrappersOnJinjaError: true });
const state = chatWrapper.generateContextState({
  chatHistory: [
    { type: "user", text: prompt },
    { type: "model", response: [] },
  ],
});
const promptTokens = state.contextText.tokenize(model.tokenizer);
const loadMs = performance.now() - loadStarted;

/** sequences → { context, sequences } */
const contexts = new Map();

async function contextFor(count) {
  let entry = contexts.get(count);
  if (!entry) {
    const context = await model.createContext({
      contextSize,
      sequences: Math.max(count, minSequences),
      threads,
      batching: { itemPrioritizationStrategy: countingStrategy },
    });
    const sequences = [];
    for (let i = 0; i < count; i++) sequences.push(context.getSequence());
    entry = { context, sequences };
    contexts.set(count, entry);
  }
  return entry;
}

/** One request on one sequence: evaluate the prompt, then greedy tokens up to maxTokens. */
async function generate(sequence) {
  const started = performance.now();
  let ttft = Number.NaN;
  let tokens = 0;
  const evaluation = sequence.evaluate(promptTokens, { temperature: 0 });
  try {
    for await (const _token of evaluation) {
      if (tokens === 0) ttft = performance.now() - started;
      tokens++;
      if (tokens >= maxTokens) break;
    }
  } finally {
    await evaluation.return();
  }
  await sequence.clearHistory();
  return { tokens, ttft };
}

async function run({ id, sequences: count, requestsPerLoop, warmup }) {
  const { sequences } = await contextFor(count);
  const warmupStarted = performance.now();
  if (warmup) await Promise.all(sequences.map((sequence) => generate(sequence)));
  const warmupMs = performance.now() - warmupStarted;
  const ttftMs = [];
  let tokens = 0;
  let requests = 0;
  steps.count = 0;
  steps.sequences = 0;
  steps.tokens = 0;
  const startUs = Number(process.hrtime.bigint() / 1000n);
  const started = performance.now();
  await Promise.all(
    sequences.map(async (sequence) => {
      for (let i = 0; i < requestsPerLoop; i++) {
        const result = await generate(sequence);
        tokens += result.tokens;
        requests++;
        ttftMs.push(result.ttft);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const endUs = Number(process.hrtime.bigint() / 1000n);
  return {
    type: "result",
    id,
    tokens,
    requests,
    elapsedMs,
    ttftMs,
    warmupMs,
    startUs,
    endUs,
    steps: steps.count,
    stepSequences: steps.sequences,
    stepTokens: steps.tokens,
  };
}

process.on("message", (message) => {
  if (message?.type === "exit") {
    process.disconnect();
    return;
  }
  if (message?.type !== "run") return;
  run(message).then(
    (result) => process.send(result),
    (error) => process.send({ type: "error", id: message.id, message: error?.stack ?? String(error) }),
  );
});

process.send({ type: "ready", promptTokens: promptTokens.length, loadMs });
