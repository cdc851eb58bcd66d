import { describe, expect, it } from "vitest";
import { age, clockToMinute, count, hashTail, minuteToClock, shortenHash, timeLeft } from "./format";

describe("format", () => {
  it("shortens long hashes and keeps short ones", () => {
    expect(shortenHash("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")).toBe("9f86d081884c…");
    expect(shortenHash("9f86d081884c")).toBe("9f86d081884c");
  });

  it("takes the last 4 characters of a hash", () => {
    expect(hashTail("sha256:abcdef0123")).toBe("0123");
    expect(hashTail("ab")).toBe("ab");
  });

  it("says how old and how much time is left", () => {
    expect(age(0, 42_000)).toBe("42s");
    expect(age(0, 5 * 60_000)).toBe("5m");
    expect(age(10, 0)).toBe("0s");
    expect(timeLeft(4 * 60_000 + 30_000, 0)).toBe("4m left");
    expect(timeLeft(0, 0)).toBe("expired");
  });
});

describe("quiet hours clock", () => {
  it("writes minutes after midnight as HH:MM and reads them back", () => {
    expect(minuteToClock(0)).toBe("00:00");
    expect(minuteToClock(18 * 60 + 5)).toBe("18:05");
    expect(clockToMinute("18:05")).toBe(18 * 60 + 5);
    expect(clockToMinute(minuteToClock(1439))).toBe(1439);
  });

  it("refuses what is not a time of day", () => {
    for (const bad of ["", "24:00", "12:60", "9:00", "12:00:00", "ab:cd"]) {
      expect(clockToMinute(bad)).toBeNull();
    }
  });
});

describe("count", () => {
  it("groups thousands", () => {
    expect(count(7)).toBe("7");
    expect(count(10_000)).toBe((10_000).toLocaleString());
    expect(count(10_000)).not.toBe("10000");
  });
});
