import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";

// Testing Library only cleans up automatically when test globals are enabled; they are not.
afterEach(cleanup);

// jsdom does no layout, so every element measures 0×0 and the virtualized queue would show no
// card. Give elements the size of a small window; the real webview measures for real.
for (const [name, size] of [["offsetHeight", 800], ["clientHeight", 800], ["offsetWidth", 480], ["clientWidth", 480]] as const) {
  Object.defineProperty(HTMLElement.prototype, name, { configurable: true, get: () => size });
}
