import { render } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { AgentName, AgentText, hasLookAlikes, splitHidden } from "./AgentText";

describe("agent text", () => {
  it("draws bidi overrides and zero-width characters as visible marks", () => {
    const { container } = render(<AgentText value={"pay \u202eredro\u202c now\u200b!"} />);
    expect(container.textContent).toBe("pay ⟨RLO⟩redro⟨PDF⟩ now⟨ZWSP⟩!");
    expect(container.querySelector("bdi")).not.toBeNull();
  });

  it("leaves ordinary text alone, emoji and accents included", () => {
    expect(splitHidden("Café ☕ déjà vu\nline two")).toEqual([{ text: "Café ☕ déjà vu\nline two", hidden: false }]);
    const { container } = render(<AgentText value="plain" />);
    expect(container.innerHTML).toBe("plain");
  });

  it("keeps the joiners inside emoji sequences, and marks a joiner between letters", () => {
    const family = "👩\u200d👩\u200d👧\u200d👦";
    expect(splitHidden(`${family} and 👍🏽\u200d👍`).every((p) => !p.hidden)).toBe(true);
    expect(splitHidden("appr\u200dove").filter((p) => p.hidden)).toHaveLength(1);
  });

  it("names an unnamed control by its code point", () => {
    const { container } = render(<AgentText value={"a\u0007b"} />);
    expect(container.textContent).toBe("a⟨U+0007⟩b");
  });

  it("flags look-alike identifiers", () => {
    expect(hasLookAlikes("finance.payment.execute")).toBe(false);
    expect(hasLookAlikes("fіnance.payment.execute")).toBe(true);
    const { getByTestId } = render(<AgentName value="fіnance.payment.execute" />);
    expect(getByTestId("lookalike-mark")).toHaveTextContent("non-ASCII");
  });
});
