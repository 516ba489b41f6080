// @vitest-environment happy-dom
import { act, cleanup, render, screen, waitFor } from "@testing-library/react"
import { createElement, type ReactNode } from "react"
import { afterEach, expect, it } from "vitest"
import { ConsentBanner, ConsentProvider, PreferenceCenter, useConsent } from "../src/index.js"
import { page } from "./server.js"

afterEach(cleanup)

const Analytics = () => {
  const { allowed, reason, loading } = useConsent("analytics")
  return createElement("p", { "data-testid": "analytics" }, loading ? "loading" : `${allowed} ${reason}`)
}

const shadowOf = (tag: string): ShadowRoot => {
  const root = document.querySelector(tag)?.shadowRoot
  if (!root) throw new Error(`no shadow root on <${tag}>`)
  return root
}

const inPage = (server: ReturnType<typeof page>, ...children: Array<ReactNode>) =>
  render(createElement(ConsentProvider, { endpoint: server.endpoint, fetch: server.fetch }, ...children))

it("the banner asks, and its accept button records a grant of every purpose", async () => {
  const server = page()
  inPage(
    server,
    createElement(Analytics),
    createElement(ConsentBanner, { endpoint: server.endpoint, lang: "en" }),
  )
  await waitFor(() => expect(shadowOf("ck-banner").querySelector("[role=dialog]")).not.toBeNull())
  const banner = shadowOf("ck-banner")
  expect(banner.querySelector("h2")?.textContent).toContain("Siam Tea")
  expect(screen.getByTestId("analytics").textContent).toBe("false no_consent")

  const accept = banner.getElementById("ck-accept") as HTMLButtonElement
  expect(accept.textContent).toBe("Accept all")
  await act(async () => accept.click())
  await waitFor(() => expect(screen.getByTestId("analytics").textContent).toBe("true granted"))
  // Answered: the banner is gone.
  expect(shadowOf("ck-banner").querySelector("[role=dialog]")).toBeNull()
  const history = await server.history()
  expect(history.map((e) => [e.purpose, e.action, e.source])).toEqual([
    ["analytics", "grant", "banner"],
    ["marketing", "grant", "banner"],
  ])
})

it("a withdrawal saved in the preference center turns useConsent off", async () => {
  const server = page()
  inPage(
    server,
    createElement(Analytics),
    createElement(PreferenceCenter, { endpoint: server.endpoint, lang: "en", inline: true }),
  )
  await waitFor(() => expect(shadowOf("ck-preferences").querySelector("[role=switch]")).not.toBeNull())
  const center = shadowOf("ck-preferences")
  const switches = Array.from(center.querySelectorAll<HTMLInputElement>("[role=switch]"))
  expect(switches.map((s) => [s.name, s.checked])).toEqual([
    ["analytics", false],
    ["marketing", false],
  ])

  await act(async () => (center.getElementById("ck-all") as HTMLButtonElement).click())
  await waitFor(() => expect(screen.getByTestId("analytics").textContent).toBe("true granted"))

  const analytics = shadowOf("ck-preferences").querySelector<HTMLInputElement>("[name=analytics]")!
  expect(analytics.checked).toBe(true)
  analytics.checked = false
  await act(async () => (shadowOf("ck-preferences").getElementById("ck-save") as HTMLButtonElement).click())
  await waitFor(() => expect(screen.getByTestId("analytics").textContent).toBe("false withdrawn"))
  expect(shadowOf("ck-preferences").querySelector<HTMLInputElement>("[name=analytics]")!.checked).toBe(false)
  const history = await server.history()
  expect(history.map((e) => [e.purpose, e.action, e.source])).toEqual([
    ["analytics", "grant", "preference-center"],
    ["marketing", "grant", "preference-center"],
    ["analytics", "withdraw", "preference-center"],
  ])
})
