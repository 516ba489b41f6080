import { createConsentKit } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { dialects } from "./dialects.js"
import { freshTenant, policy } from "./fixtures/policy.js"
import { seedStates } from "./fixtures/seed.js"

const SUBJECTS = 200_000
const PAGE = 1_000
const subjectOf = (i: number) => `m-${String(i).padStart(7, "0")}`

// Every third subject withdrew email offers; one in ten who granted them refused marketing as a whole.
const purposesOf = (i: number) => [
  { purpose: "marketing.email", status: i % 3 === 0 ? ("withdrawn" as const) : ("granted" as const) },
  ...(i % 10 === 1 ? [{ purpose: "marketing", status: "withdrawn" as const }] : []),
]

let granted = 0
let allowed = 0
for (let i = 0; i < SUBJECTS; i++) {
  if (i % 3 === 0) continue
  granted++
  if (i % 10 !== 1) allowed++
}

// The in-process WebAssembly engine is left out: 200,000 rows there test PGlite, not the store.
const engines = dialects().filter((d) => d.name !== "pglite")

describe.each(engines)("audience of 200,000 subjects ($name)", (dialect) => {
  it("streams the consenting audience one bounded page at a time", async () => {
    const { store, close } = await openStore(dialect.url())
    const tenant = freshTenant("aud")
    try {
      await seedStates(store, tenant, SUBJECTS, subjectOf, purposesOf)

      // Watch what the store hands over: never more than one page of subject states at a time.
      let pages = 0
      let largest = 0
      let rows = 0
      const watched = {
        ...store,
        audiencePage: (options: Parameters<typeof store.audiencePage>[0]) =>
          store.audiencePage(options).pipe(
            Effect.tap((page) =>
              Effect.sync(() => {
                pages++
                rows += page.states.length
                largest = Math.max(largest, page.states.length)
              }),
            ),
          ),
      }
      const kit = createConsentKit({ policy, store: watched, secret: "s", dispatcher: { autoStart: false } })
      let count = 0
      let previous = ""
      let outOfOrder = 0
      try {
        for await (const subject of kit.audience({ tenant, purpose: "marketing.email", pageSize: PAGE })) {
          if (subject <= previous) outOfOrder++
          previous = subject
          count++
        }
      } finally {
        await kit.close()
      }
      expect(count).toBe(allowed)
      expect(outOfOrder).toBe(0)
      // The store read every granted subject exactly once, in pages of at most PAGE states: that
      // page is all the memory the stream holds, whatever the audience's size.
      expect(rows).toBe(granted)
      expect(largest).toBeLessThanOrEqual(PAGE)
      expect(pages).toBe(Math.ceil(granted / PAGE))
    } finally {
      await close()
    }
  }, 300_000)
})
