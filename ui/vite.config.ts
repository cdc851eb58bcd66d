import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  // Tauri serves the bundle from its own custom protocol, so asset URLs must be relative.
  base: "./",
  clearScreen: false,
  server: {
    port: 1420,
    strictPort: true,
  },
  build: {
    outDir: "dist",
    // WebKitGTK (Linux) and WKWebView (macOS) are the oldest engines we ship on.
    target: ["es2021", "safari15"],
    // The polyfill is injected as an inline script, which the app's CSP (script-src 'self') blocks.
    modulePreload: { polyfill: false },
  },
  test: {
    environment: "jsdom",
    setupFiles: ["./src/test/setup.ts"],
  },
});
