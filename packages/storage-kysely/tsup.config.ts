import { defineConfig } from "tsup"

export default defineConfig({
  entry: { index: "src/index.ts" },
  format: ["esm"],
  dts: { entry: { index: "src/index.ts" } },
  sourcemap: true,
  clean: true,
  target: "es2022",
  external: [
    "@consentkit/core",
    "effect",
    "kysely",
    "better-sqlite3",
    "pg",
    "mysql2",
    "@electric-sql/pglite",
  ],
})
