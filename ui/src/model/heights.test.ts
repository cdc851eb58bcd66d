import { describe, expect, it } from "vitest";
import { card } from "../test/fixtures";
import { HeightEstimator } from "./heights";

describe("HeightEstimator", () => {
  it("estimates a card at the height of a drawn card of the same shape", () => {
    const heights = new HeightEstimator(150);
    const twoLines = (id: string) => card(id, {}, { payload: [{ key: "a", value: "1" }, { key: "b", value: "2" }] });
    expect(heights.estimate(twoLines("x"))).toBe(150);
    heights.record(twoLines("x"), 172);
    expect(heights.estimate(twoLines("y"))).toBe(172);
    expect(heights.estimate(card("plain"))).toBe(150);
    expect(heights.estimate(card("tagged", { risk_tags: ["network", "finance"] }))).toBe(150);
    heights.record(card("hidden"), 0);
    expect(heights.estimate(card("plain"))).toBe(150);
    expect(heights.estimate(undefined)).toBe(150);
  });
});
