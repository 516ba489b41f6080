// An ad partner's pixel, held until the visitor allows advertising (never under a GPC signal).
;(() => {
  fetch("/consent/events", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      purpose: "advertising",
      name: "ad_pixel",
      properties: { path: location.pathname },
    }),
  }).catch(() => undefined)
})()
