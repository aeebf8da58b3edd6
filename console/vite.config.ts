/// <reference types="vitest/config" />
// Built to static files that the gateway serves at /console (same origin, strict CSP: no inline
// scripts or styles, so everything is bundled to files under /console/assets).
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

export default defineConfig({
  base: "/console/",
  plugins: [react()],
  build: { outDir: "dist", sourcemap: false },
  server: {
    // `npm run dev` against a local `ragline run` (default port 8000): same-origin in the browser.
    proxy: { "/v1": "http://127.0.0.1:8000", "/readyz": "http://127.0.0.1:8000" },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
