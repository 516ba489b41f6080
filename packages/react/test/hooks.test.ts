// @vitest-environment happy-dom
import { act, cleanup, render, screen, waitFor } from "@testing-library/react"
import { createElement, StrictMode } from "react"
import { afterEach, expect, it } from "vitest"
import { ConsentProvider, useConsent, useConsentState } from "../src/index.js"
import { page } from "./server.js"

afterEach(cleanup)

const Analytics = () => {
  const { allowed, reason, loading } = useConsent("analytics")
  return createElement("p", { "data-testid": "analytics" }, loading ? "loading" : `${allowed} ${reason}`)
}

let state: ReturnType<typeof useConsentState> | null = null
const State = () => {
  state = useConsentState()
  return createElement(
    "ul",
    null,
    (state.model?.purposes ?? []).map((p) => createElement("li", { key: p.id }, p.title.en)),
  )
}

it("loads the visitor's model from the routes and records grants and withdrawals", async () => {
  const server = page()
  render(
    createElement(
      ConsentProvider,
      { endpoint: server.endpoint, fetch: server.fetch },
      createElement(Analytics),
      createElement(State),
    ),
  )
  expect(screen.getByTestId("analytics").textContent).toBe("loading")
  await waitFor(() => expect(screen.getByTestId("analytics").textContent).toBe("false no_consent"))
  expect(screen.getAllByRole("listitem").map((li) => li.textContent)).toEqual(["Analytics", "Marketing"])

  await act(() => state!.grant("analytics"))
  expect(screen.getByTestId("analytics").textContent).toBe("true granted")
  const history = await server.history()
  expect(history.map((e) => [e.purpose, e.action, e.noticeVersion, e.source])).toEqual([
    ["analytics", "grant", 1, "preference-center"],
  ])

  await act(() => state!.withdraw(["analytics"]))
  expect(screen.getByTestId("analytics").textContent).toBe("false withdrawn")
  expect((await server.history()).map((e) => e.action)).toEqual(["grant", "withdraw"])
})

it("throws a clear error outside the provider", () => {
  const quiet = console.error
  console.error = () => {}
  try {
    expect(() => render(createElement(Analytics))).toThrow(/useConsent must be used inside <ConsentProvider>/)
  } finally {
    console.error = quiet
  }
})

it("loads once under StrictMode, whose effects run twice", async () => {
  const server = page()
  const asked: Array<string> = []
  const counting: typeof fetch = (input, init) => {
    asked.push(`${init?.method ?? "GET"} ${new URL(String(input)).pathname.replace(/^\/[^/]+/, "")}`)
    return server.fetch(input, init)
  }
  render(
    createElement(
      StrictMode,
      null,
      createElement(
        ConsentProvider,
        { endpoint: server.endpoint, fetch: counting },
        createElement(Analytics),
      ),
    ),
  )
  await waitFor(() => expect(screen.getByTestId("analytics").textContent).toBe("false no_consent"))
  expect(asked).toEqual(["GET /consent/preferences"])
})
