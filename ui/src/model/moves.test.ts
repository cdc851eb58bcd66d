import { describe, expect, it } from "vitest";
import { trackMoves } from "./moves";

describe("trackMoves", () => {
  it("notes when a card moved, not when it first showed or stayed put", () => {
    const first = trackMoves(new Map(), [["a", 100], ["b", 250]], 1_000);
    expect(first.get("a")).toEqual({ y: 100, since: 0 });
    const same = trackMoves(first, [["a", 100.4], ["b", 250]], 2_000);
    expect(same.get("a")?.since).toBe(0);
    const shifted = trackMoves(same, [["a", 140], ["b", 250]], 3_000);
    expect(shifted.get("a")).toEqual({ y: 140, since: 3_000 });
    expect(shifted.get("b")?.since).toBe(0);
    const gone = trackMoves(shifted, [["b", 250]], 4_000);
    expect(gone.has("a")).toBe(false);
  });
});
