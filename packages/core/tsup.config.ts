import { defineConfig } from "tsup"

export default defineConfig({
  entry: { index: "src/index.ts", "testing/index": "src/testing/index.ts", wire: "src/wire.ts" },
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
  external: ["effect", "vitest"],
})
