import { defineConfig, type Options } from "tsup"

// Workspace packages are read from source, so this build does not wait for theirs.
const fromSource: Options["esbuildOptions"] = (options) => {
  options.conditions = ["@consentkit/source", ...(options.conditions ?? [])]
}

export default defineConfig([
  // For bundlers: ESM with types; @consentkit/consent-mode stays a dependency.
  {
    entry: { index: "src/index.ts" },
    format: ["esm"],
    dts: true,
    sourcemap: true,
    target: "es2022",
    platform: "browser",
    external: ["@consentkit/consent-mode"],
    esbuildOptions: fromSource,
  },
  // For pages: one self-registering file, everything bundled and minified (ESM and a plain-script IIFE).
  {
    entry: { browser: "src/browser.ts" },
    format: ["esm"],
    dts: true,
    sourcemap: true,
    minify: true,
    target: "es2020",
    platform: "browser",
    noExternal: [/.*/],
    esbuildOptions: fromSource,
  },
  {
    entry: { "consentkit-web": "src/browser.ts" },
    format: ["iife"],
    globalName: "ConsentKitWeb",
    sourcemap: true,
    minify: true,
    target: "es2020",
    platform: "browser",
    noExternal: [/.*/],
    esbuildOptions: fromSource,
  },
])
