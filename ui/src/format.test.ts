import { describe, expect, it } from "vitest";
import { shortenHash } from "./format";

describe("shortenHash", () => {
  it("keeps a twelve-character prefix of a long hash", () => {
    expect(shortenHash("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")).toBe("9f86d081884c…");
  });

  it("leaves a short hash unchanged", () => {
    expect(shortenHash("9f86d081884c")).toBe("9f86d081884c");
  });
});
