import { describe, expect, it } from "vitest";
import { ManualClock } from "./manual-clock.js";

describe("ManualClock", () => {
  it("fires due timers in due-time then arming order, at their due time", async () => {
    const clock = new ManualClock(0);
    const fired: Array<[string, number]> = [];
    clock.setTimer(30, () => fired.push(["c", clock.now()]));
    clock.setTimer(10, () => fired.push(["a", clock.now()]));
    clock.setTimer(10, () => fired.push(["b", clock.now()]));
    clock.setTimer(31, () => fired.push(["late", clock.now()]));
    await clock.advance(30);
    expect(fired).toEqual([
      ["a", 10],
      ["b", 10],
      ["c", 30],
    ]);
    expect(clock.now()).toBe(30);
  });

  it("flushes promise callbacks after each timer, so a chain of awaits arms its next timer in the same advance", async () => {
    const clock = new ManualClock(0);
    const steps: number[] = [];
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(ms, resolve));
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(100);
        steps.push(clock.now());
      }
    })();
    await clock.advance(300);
    expect(steps).toEqual([100, 200, 300]);
  });

  it("nextTimerScheduled resolves when code under test arms a timer", async () => {
    const clock = new ManualClock(0);
    let armed = false;
    const waiting = clock.nextTimerScheduled().then(() => {
      armed = true;
    });
    await Promise.resolve();
    expect(armed).toBe(false);
    clock.setTimer(5, () => {});
    await waiting;
    expect(armed).toBe(true);
  });

  it("a cancelled timer does not fire", async () => {
    const clock = new ManualClock(0);
    let fired = false;
    const cancel = clock.setTimer(5, () => {
      fired = true;
    });
    cancel();
    await clock.advance(10);
    expect(fired).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });
});
