import { describe, expect, it } from "vitest";
import { errors } from "../../core/inference-error.js";
import { EmbedAttemptSink } from "./embed-attempt-sink.js";

const answer = { vectors: [new Float32Array([1])], usage: { inputTokens: 3 } };

function sink() {
  const ends: Array<{ readonly error?: unknown }> = [];
  return { sink: new EmbedAttemptSink({ ended: (end) => ends.push(end) }), ends };
}

describe("EmbedAttemptSink", () => {
  it("keeps the answer and its usage (no output tokens), and ends the attempt once", () => {
    const { sink: s, ends } = sink();
    s.resolve(answer);
    s.resolve(answer);
    s.fail(errors.internal("late"));
    expect(s.finished).toBe(true);
    expect(s.result).toBe(answer);
    expect(s.usage).toEqual({ inputTokens: 3, outputTokens: 0 });
    expect(s.contentChunks).toBe(0);
    expect(ends).toEqual([{}]);
  });

  it("carries an estimated usage as estimated", () => {
    const { sink: s } = sink();
    s.resolve({ ...answer, usage: { inputTokens: 3, estimated: true } });
    expect(s.usage).toEqual({ inputTokens: 3, outputTokens: 0, estimated: true });
  });

  it("a failure or a close ends the attempt without an answer", () => {
    const failed = sink();
    const error = errors.serverError("down", 500);
    failed.sink.fail(error);
    expect(failed.ends).toEqual([{ error }]);
    expect(failed.sink.finished).toBe(false);
    const closed = sink();
    closed.sink.close();
    expect(closed.ends).toEqual([{}]);
    expect(closed.sink.finished).toBe(false);
  });

  it("drops whatever comes after the RequestActor moved on", () => {
    const { sink: s, ends } = sink();
    s.abandon();
    s.resolve(answer);
    expect(s.result).toBeUndefined();
    expect(ends).toEqual([]);
  });
});
