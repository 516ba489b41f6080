// @vitest-environment happy-dom
import { act, cleanup, render, screen, waitFor } from "@testing-library/react"
import { createElement } from "react"
import { hydrateRoot } from "react-dom/client"
import { renderToString } from "react-dom/server"
import { afterEach, expect, it, vi } from "vitest"
import { ConsentProvider, useConsent, useConsentState } from "../src/index.js"
import { page } from "./server.js"

afterEach(cleanup)

const Analytics = () => {
  const { allowed, reason, loading } = useConsent("analytics")
  return createElement("p", { "data-testid": "analytics" }, loading ? "loading" : `${allowed} ${reason}`)
}

const Failure = () => {
  const { error, loading } = useConsentState()
  return createElement("p", { "data-testid": "failure" }, `${loading} ${(error as Error | null)?.name}`)
}

it("hydrates server HTML without a mismatch, then loads the visitor's answer", async () => {
  const server = page()
  const app = createElement(
    ConsentProvider,
    { endpoint: server.endpoint, fetch: server.fetch },
    createElement(Analytics),
  )
  const container = document.createElement("div")
  container.innerHTML = renderToString(app)
  document.body.append(container)
  expect(container.textContent).toBe("loading")
  const errors = vi.spyOn(console, "error")
  const recoverable = vi.fn()
  const root = await act(async () => hydrateRoot(container, app, { onRecoverableError: recoverable }))
  await waitFor(() => expect(container.textContent).toBe("false no_consent"))
  expect(recoverable).not.toHaveBeenCalled()
  expect(errors).not.toHaveBeenCalled()
  errors.mockRestore()
  act(() => root.unmount())
  container.remove()
})

it("a page whose consent routes fail stays not allowed and says why", async () => {
  const server = page()
  render(
    createElement(
      ConsentProvider,
      { endpoint: server.endpoint.replace(/\/consent$/, "/missing"), fetch: server.fetch },
      createElement(Analytics),
      createElement(Failure),
    ),
  )
  await waitFor(() => expect(screen.getByTestId("failure").textContent).toBe("false ConsentRequestError"))
  expect(screen.getByTestId("analytics").textContent).toBe("false null")
})
