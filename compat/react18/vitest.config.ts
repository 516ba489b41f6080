import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { defineProject, mergeConfig } from "vitest/config"
import { project } from "../../vitest.shared.js"

// @consentkit/react's own tests (its hooks, elements, hydration and server rendering) once more,
// with every `react` / `react-dom` import, the package's and Testing Library's, resolved to the
// React 18 installed beside this file. Testing Library is inlined so the alias reaches it too.
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const require = createRequire(import.meta.url)
const react18 = [
  // Its ESM build (its main is CommonJS, whose require() would bypass the aliases below).
  {
    find: /^@testing-library\/react$/,
    replacement: join(dirname(require.resolve("@testing-library/react")), "@testing-library/react.esm.js"),
  },
  { find: /^react-dom(\/.*)?$/, replacement: `${here("./node_modules/react-dom")}$1` },
  { find: /^react(\/.*)?$/, replacement: `${here("./node_modules/react")}$1` },
]

export default mergeConfig(
  project("react-18"),
  defineProject({
    resolve: { alias: react18 },
    test: {
      include: ["../../packages/react/test/{hooks,elements,hydrate,ssr}.test.ts", "test/**/*.test.ts"],
      globalSetup: ["../../packages/react/test/global-setup.ts"],
      server: { deps: { inline: [/@testing-library\//] } },
    },
  }),
)
