// @vitest-environment happy-dom
import { version as domVersion } from "react-dom"
import { version } from "react"
import { expect, it } from "vitest"

// The other files of this project are @consentkit/react's own tests: this one proves they ran on 18.
it("runs on React 18", () => {
  expect(version).toMatch(/^18\./)
  expect(domVersion).toMatch(/^18\./)
})
