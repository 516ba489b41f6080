// Fails the build when a browser bundle of @consentkit/web is above 15 kB minified and gzipped.
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"
import { transform } from "esbuild"

const LIMIT = 15 * 1024
const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist")
const bundles = [
  { file: "browser.js", format: "esm" },
  { file: "consentkit-web.global.js", format: "iife" },
]

let failed = false
for (const { file, format } of bundles) {
  const source = readFileSync(join(dist, file), "utf8")
  const { code } = await transform(source, { minify: true, format, target: "es2020", legalComments: "none" })
  const gzipped = gzipSync(code, { level: 9 }).length
  const over = gzipped > LIMIT
  failed ||= over
  console.log(
    `@consentkit/web ${file}: ${(code.length / 1024).toFixed(1)} kB min, ${(gzipped / 1024).toFixed(2)} kB min+gzip (limit ${LIMIT / 1024} kB)${over ? "  TOO LARGE" : ""}`,
  )
}
if (failed) {
  console.error("@consentkit/web: a browser bundle is over the size limit")
  process.exit(1)
}
