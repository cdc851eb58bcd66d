import { useEffect } from "react";
import type { Theme } from "./bindings/Theme";

/** Sets `data-theme` on the document: the reviewer's choice, else the OS preference, live. */
export function useTheme(choice: Theme) {
  useEffect(() => {
    const query = typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: dark)") : null;
    const apply = () => {
      const dark = choice === "dark" || (choice === "system" && query?.matches === true);
      document.documentElement.dataset.theme = dark ? "dark" : "light";
    };
    apply();
    query?.addEventListener("change", apply);
    return () => {
      query?.removeEventListener("change", apply);
    };
  }, [choice]);
}
