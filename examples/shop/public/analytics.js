// The shop's analytics tag. The page holds it (type="text/plain" data-consent-purpose="analytics")
// until the visitor allows analytics; the server gates every event again before the tracker sees it.
;(() => {
  const send = (name, properties) =>
    fetch("/consent/events", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ purpose: "analytics", name, properties }),
    }).catch(() => undefined)
  const sku = document.body.dataset.sku
  send("page_viewed", { path: location.pathname })
  if (sku) send("product_viewed", { sku })
  document.addEventListener("click", (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-add-to-cart]") : null
    if (!button) return
    send("add_to_cart", { sku: button.getAttribute("data-add-to-cart") })
    const status = document.getElementById("cart-status")
    if (status)
      status.textContent = document.documentElement.lang === "th" ? "ใส่ตะกร้าแล้ว" : "Added to your cart"
  })
})()
