import { render } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Theme } from "./bindings/Theme";
import { useTheme } from "./theme";

function Themed({ choice }: { choice: Theme }) {
  useTheme(choice);
  return null;
}

function osPrefersDark(dark: boolean) {
  vi.stubGlobal("matchMedia", (query: string) => ({
    matches: dark && query.includes("dark"),
    addEventListener: vi.fn(),
    removeEventListener: vi.fn(),
  }));
}

describe("useTheme", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("follows the OS unless the reviewer chose a theme", () => {
    osPrefersDark(true);
    const { rerender } = render(<Themed choice="system" />);
    expect(document.documentElement.dataset.theme).toBe("dark");
    rerender(<Themed choice="light" />);
    expect(document.documentElement.dataset.theme).toBe("light");
    osPrefersDark(false);
    rerender(<Themed choice="system" />);
    expect(document.documentElement.dataset.theme).toBe("light");
    rerender(<Themed choice="dark" />);
    expect(document.documentElement.dataset.theme).toBe("dark");
  });
});
