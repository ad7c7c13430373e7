import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StopMatcher } from "./stop-matcher.js";

/** Pushes every piece, then flushes when nothing matched; returns the emits in order. */
function run(stops: readonly string[], pieces: readonly string[]): { emits: string[]; stopped: boolean } {
  const matcher = new StopMatcher(stops);
  const emits: string[] = [];
  for (const piece of pieces) {
    const { emit, stopped } = matcher.push(piece);
    emits.push(emit);
    if (stopped) return { emits, stopped: true };
  }
  emits.push(matcher.flush());
  return { emits, stopped: false };
}

describe("StopMatcher", () => {
  it("passes text straight through when there are no stop strings", () => {
    const matcher = new StopMatcher([]);
    expect(matcher.push("hel")).toEqual({ emit: "hel", stopped: false });
    expect(matcher.push("lo")).toEqual({ emit: "lo", stopped: false });
    expect(matcher.flush()).toBe("");
  });

  it("ignores empty stop strings", () => {
    const matcher = new StopMatcher([""]);
    expect(matcher.push("abc")).toEqual({ emit: "abc", stopped: false });
  });

  it("holds back a partial prefix of a stop string and releases it when the next text does not continue it", () => {
    const matcher = new StopMatcher(["END"]);
    expect(matcher.push("hello E")).toEqual({ emit: "hello ", stopped: false });
    expect(matcher.push("N")).toEqual({ emit: "", stopped: false });
    expect(matcher.push("d")).toEqual({ emit: "ENd", stopped: false });
  });

  it("matches a stop string split across three pushes and emits only the text before it", () => {
    const matcher = new StopMatcher(["STOP"]);
    expect(matcher.push("one S")).toEqual({ emit: "one ", stopped: false });
    expect(matcher.push("T")).toEqual({ emit: "", stopped: false });
    expect(matcher.push("OP and more")).toEqual({ emit: "", stopped: true });
  });

  it("emits the text before a stop string inside one push and drops everything after it", () => {
    const matcher = new StopMatcher(["\n\n"]);
    expect(matcher.push("a line\n\nnext")).toEqual({ emit: "a line", stopped: true });
  });

  it("emits nothing more after stopping, and flush returns nothing", () => {
    const matcher = new StopMatcher(["x"]);
    expect(matcher.push("abx")).toEqual({ emit: "ab", stopped: true });
    expect(matcher.push("more")).toEqual({ emit: "", stopped: true });
    expect(matcher.flush()).toBe("");
    expect(matcher.stopped).toBe(true);
  });

  it("with several stop strings, the earliest match wins", () => {
    expect(run(["world", "lo"], ["hello world"])).toEqual({ emits: ["hel"], stopped: true });
    expect(run(["lo", "world"], ["hello world"])).toEqual({ emits: ["hel"], stopped: true });
  });

  it("when matches overlap, the stop string that completes first wins, as it would token by token", () => {
    expect(run(["abcd", "c"], ["abcd"])).toEqual({ emits: ["ab"], stopped: true });
    expect(run(["abcd", "c"], ["a", "b", "c", "d"])).toEqual({ emits: ["", "", "ab"], stopped: true });
    // Completing at the same character: the one that starts earlier wins.
    expect(run(["bc", "abc"], ["xabc"])).toEqual({ emits: ["x"], stopped: true });
  });

  it("holds back the longest possible start among several stop strings", () => {
    const matcher = new StopMatcher(["abc", "bcd"]);
    // "ab" could start "abc"; "b" could start "bcd": hold the longer, "ab".
    expect(matcher.push("xab")).toEqual({ emit: "x", stopped: false });
    // "abd" ends with no prefix of either stop string, so all of it is released.
    expect(matcher.push("d")).toEqual({ emit: "abd", stopped: false });
  });

  it("finds a stop string that starts inside held-back text that was not a match for another stop", () => {
    const matcher = new StopMatcher(["aab"]);
    expect(matcher.push("a")).toEqual({ emit: "", stopped: false });
    expect(matcher.push("a")).toEqual({ emit: "", stopped: false });
    expect(matcher.push("a")).toEqual({ emit: "a", stopped: false });
    expect(matcher.push("b")).toEqual({ emit: "", stopped: true });
  });

  it("flush releases held-back text when generation ends without a match", () => {
    const matcher = new StopMatcher(["</s>"]);
    expect(matcher.push("done </")).toEqual({ emit: "done ", stopped: false });
    expect(matcher.flush()).toBe("</");
    expect(matcher.flush()).toBe("");
  });

  it("gives the same text whatever way the input is split into pushes", () => {
    const alphabet = fc.constantFrom("a", "b", "c", " ");
    const text = fc.array(alphabet, { maxLength: 30 }).map((chars) => chars.join(""));
    const stop = fc.array(alphabet, { minLength: 1, maxLength: 4 }).map((chars) => chars.join(""));
    fc.assert(
      fc.property(
        text,
        fc.array(stop, { maxLength: 3 }),
        fc.array(fc.nat(30), { maxLength: 6 }),
        (input, stops, cuts) => {
          const points = [...new Set(cuts.map((cut) => Math.min(cut, input.length)))].sort((a, b) => a - b);
          const pieces: string[] = [];
          let from = 0;
          for (const point of points) {
            pieces.push(input.slice(from, point));
            from = point;
          }
          pieces.push(input.slice(from));

          const whole = run(stops, [input]);
          const split = run(stops, pieces);
          expect(split.emits.join("")).toBe(whole.emits.join(""));
          expect(split.stopped).toBe(whole.stopped);
          // Reference: the stop string that completes first, earliest start on ties.
          let expected = input;
          let bestEnd = Number.POSITIVE_INFINITY;
          let bestStart = Number.POSITIVE_INFINITY;
          for (const candidate of stops) {
            const start = input.indexOf(candidate);
            if (start < 0) continue;
            const end = start + candidate.length;
            if (end < bestEnd || (end === bestEnd && start < bestStart)) {
              bestEnd = end;
              bestStart = start;
              expected = input.slice(0, start);
            }
          }
          expect(whole.emits.join("")).toBe(expected);
          expect(whole.stopped).toBe(bestEnd !== Number.POSITIVE_INFINITY);
        },
      ),
    );
  });
});
