// Unit tests of the UTC window helpers that every SpendLedger keys its windows by.

import { describe, expect, it } from "vitest";
import { DAY_MS, HOUR_MS, utcDayStart, utcHourStart } from "./spend-ledger.js";

describe("utcHourStart", () => {
  it("truncates to the start of the UTC hour", () => {
    expect(utcHourStart(Date.UTC(2024, 2, 10, 13, 45, 12, 345))).toBe(Date.UTC(2024, 2, 10, 13));
  });

  it("maps the first and last ms of an hour to the same start", () => {
    const start = Date.UTC(2024, 2, 10, 13);
    expect(utcHourStart(start)).toBe(start);
    expect(utcHourStart(start + HOUR_MS - 1)).toBe(start);
    expect(utcHourStart(start + HOUR_MS)).toBe(start + HOUR_MS);
  });

  it("rounds down for times before 1970", () => {
    expect(utcHourStart(Date.UTC(1969, 11, 31, 23, 30))).toBe(Date.UTC(1969, 11, 31, 23));
  });
});

describe("utcDayStart", () => {
  it("truncates to UTC midnight", () => {
    expect(utcDayStart(Date.UTC(2024, 2, 10, 23, 59, 59, 999))).toBe(Date.UTC(2024, 2, 10));
    expect(utcDayStart(Date.UTC(2024, 2, 11))).toBe(Date.UTC(2024, 2, 11));
  });

  it("does not follow local daylight-saving changes", () => {
    // 2024-03-31 is a 23-hour day in much of Europe; in UTC every day is DAY_MS long.
    const start = Date.UTC(2024, 2, 31);
    expect(utcDayStart(start + DAY_MS - 1)).toBe(start);
    expect(utcDayStart(start + DAY_MS)).toBe(Date.UTC(2024, 3, 1));
  });

  it("rounds down for times before 1970", () => {
    expect(utcDayStart(Date.UTC(1969, 11, 31, 12))).toBe(Date.UTC(1969, 11, 31));
  });
});
