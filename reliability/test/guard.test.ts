import { expect, test } from "vitest"
import { PG_URL } from "./support/db.js"

// The PostgreSQL half of the suite runs only when CONSENTKIT_PG_URL is set; in CI it must never be skipped silently.
test("CI runs the suite on PostgreSQL (CONSENTKIT_PG_URL is set)", () => {
  if (process.env.CI) expect(PG_URL, "CI must set CONSENTKIT_PG_URL for the reliability suite").toBeDefined()
})
