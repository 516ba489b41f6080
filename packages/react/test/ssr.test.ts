import { createElement } from "react"
import { renderToString } from "react-dom/server"
import { expect, it } from "vitest"
import {
  ConsentBanner,
  ConsentProvider,
  PreferenceCenter,
  useConsent,
  useConsentState,
} from "../src/index.js"

// The default node environment: no window, no document, no fetch to the consent routes.
const Analytics = () => {
  const { allowed, reason, loading } = useConsent("analytics")
  return createElement("p", null, `analytics allowed=${allowed} reason=${reason} loading=${loading}`)
}

const Tag = () => {
  const { allowed } = useConsent("analytics")
  return allowed ? createElement("script", { src: "https://tags.example/analytics.js" }) : null
}

const Model = () => {
  const { model, loading, client } = useConsentState()
  return createElement("p", null, `model=${model === null} loading=${loading} client=${client === null}`)
}

it("renders on the server as loading and not allowed, without touching the browser", () => {
  expect(typeof window).toBe("undefined")
  const html = renderToString(
    createElement(
      ConsentProvider,
      { endpoint: "/consent" },
      createElement(Analytics),
      createElement(Tag),
      createElement(Model),
      createElement(ConsentBanner, { lang: "th" }),
      createElement(PreferenceCenter, { inline: true, className: "prefs" }),
    ),
  )
  expect(html).toContain("analytics allowed=false reason=null loading=true")
  expect(html).toContain("model=true loading=true client=true")
  expect(html).not.toContain("tags.example")
  expect(html).toContain('<ck-banner lang="th"></ck-banner>')
  expect(html).toMatch(/<ck-preferences class="prefs" inline=""><\/ck-preferences>/)
})

let captured: ReturnType<typeof useConsentState> | null = null
const Capture = () => {
  captured = useConsentState()
  return null
}

it("records nothing on the server", async () => {
  renderToString(createElement(ConsentProvider, null, createElement(Capture)))
  await expect(captured!.grant("analytics")).rejects.toThrow(/only be recorded in the browser/)
})
