import { AdapterError, ConsentKit, Dispatcher, MemoryStore, Tracker } from "@consentkit/core"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { expect, it } from "vitest"
import { freshTenant, policy } from "./fixtures.js"

it("retries on the Effect clock: a row waits out its backoff and is delivered once time moves, no real sleep", async () => {
  let calls = 0
  const flaky = Tracker.make({
    name: "flaky",
    categories: ["analytics"],
    resume: () => {
      calls++
      return calls === 1
        ? Effect.fail(
            new AdapterError({ adapter: "flaky", message: "503 from the provider", isRetryable: true }),
          )
        : Effect.void
    },
  })
  const kitLayer = ConsentKit.layer({
    policy,
    secret: "clock-test-secret-0123456789abcdef0123456789abcdef",
    adapters: [flaky],
  }).pipe(Layer.provide(MemoryStore.layer))
  const program = Effect.gen(function* () {
    yield* TestClock.setTime(Date.parse("2026-06-01T00:00:00Z"))
    const kit = yield* ConsentKit.ConsentKit
    const dispatcher = yield* Dispatcher.Service
    yield* kit.record({
      tenant: freshTenant(),
      subject: "c",
      source: "banner",
      decisions: [{ purpose: "analytics", action: "grant", noticeVersion: 3 }],
    })
    const first = yield* dispatcher.runOnce
    // Not due yet: the backoff (250-500 ms for the first retry) has not passed on the test clock.
    const early = yield* dispatcher.runOnce
    yield* TestClock.adjust("1 second")
    const later = yield* dispatcher.runOnce
    return { first, early, later }
  })
  const result = await Effect.runPromise(
    program.pipe(
      Effect.provide(Layer.provideMerge(Dispatcher.layer({ autoStart: false, baseDelayMs: 500 }), kitLayer)),
      Effect.provide(TestClock.layer()),
    ),
  )
  expect(result.first).toMatchObject({ claimed: 1, retried: 1 })
  expect(result.early).toMatchObject({ claimed: 0 })
  expect(result.later).toMatchObject({ claimed: 1, delivered: 1 })
  expect(calls).toBe(2)
})
