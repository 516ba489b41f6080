import { ConsentRequired } from "@consentkit/core"
import { messengerConformance } from "@consentkit/core/testing"
import webpush from "web-push"
import { Subscriptions, webPushMessenger } from "../src/index.js"
import { type BrowserSubscription, localPushService } from "../src/testing.js"

messengerConformance("webpush", {
  setup: async () => {
    const service = await localPushService()
    const browsers = new Map<string, BrowserSubscription>()
    const dropped: Array<string> = []
    const memory = Subscriptions.memory()
    const push = webPushMessenger({
      vapid: { subject: "mailto:dpo@conformance.example", ...webpush.generateVAPIDKeys() },
      agent: service.agent,
      // Records what the messenger drops: web push has no provider-side delete, the subscription is the data.
      subscriptions: {
        ...memory,
        remove: async (tenant, subject, endpoint) => {
          const removed = await memory.remove(tenant, subject, endpoint)
          dropped.push(...removed)
          return removed
        },
      },
    })
    return {
      adapter: push,
      channel: "push",
      // The browser subscribed earlier and the app stored it, as it would have before this consent.
      enroll: async (kit, { tenant, subject }) => {
        const browser = service.subscribe()
        browsers.set(subject, browser)
        await kit.adapter(push).subscriptions.add(tenant, subject, browser.subscription)
      },
      // A page visit re-registers the browser's subscription (stored only while push is allowed), then the app sends.
      send: async (kit, { tenant, subject, purpose, text }) => {
        const messenger = kit.adapter(push)
        await messenger.subscribe({ tenant, subject, subscription: browsers.get(subject)!.subscription })
        try {
          await messenger.send({ tenant, subject, purpose, payload: text })
          return "sent"
        } catch (error) {
          if (error instanceof ConsentRequired) return "refused"
          throw error
        }
      },
      delivered: async (subject) => service.received(browsers.get(subject)!.id),
      deletions: async () => dropped,
      teardown: () => service.close(),
    }
  },
})
