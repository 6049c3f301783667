import { defineConfig } from "vite";

// Tauri serves ui/dist (tauri.conf.json: build.frontendDist); no dev server is needed.
export default defineConfig({
  clearScreen: false,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2021",
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
