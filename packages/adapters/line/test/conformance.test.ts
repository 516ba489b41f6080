import { createHash } from "node:crypto"
import { ConsentRequired } from "@consentkit/core"
import { messengerConformance } from "@consentkit/core/testing"
import { lineMessenger } from "../src/index.js"
import { localLine } from "../src/testing.js"

const TOKEN = "conformance-channel-access-token"
const lineId = (subject: string) => `U${createHash("md5").update(subject).digest("hex")}`

messengerConformance("line", {
  setup: async () => {
    const server = await localLine({ channelAccessToken: TOKEN })
    const linked = new Map<string, string>()
    const forgotten: Array<string> = []
    const line = lineMessenger({
      channelAccessToken: TOKEN,
      baseURL: server.url,
      recipients: {
        resolve: (tenant, subject) => linked.get(`${tenant}/${subject}`) ?? null,
        forget: ({ tenant, subject }) => {
          forgotten.push(linked.get(`${tenant}/${subject}`)!)
          linked.delete(`${tenant}/${subject}`)
        },
      },
    })
    return {
      adapter: line,
      channel: "line",
      enroll: async (_kit, { tenant, subject }) => {
        linked.set(`${tenant}/${subject}`, lineId(subject))
        server.follow(lineId(subject))
      },
      send: async (kit, { tenant, subject, purpose, text }) => {
        try {
          await kit.adapter(line).push({ tenant, subject, purpose, messages: [{ type: "text", text }] })
          return "sent"
        } catch (error) {
          if (error instanceof ConsentRequired) return "refused"
          throw error
        }
      },
      delivered: async (subject) => server.delivered(lineId(subject)),
      // LINE's "suppression list" for narrowcast: the tenant's exclusion audience.
      suppressed: async (subject) =>
        [...server.audiences.values()].some(
          (a) => a.description.startsWith("consentkit exclusion") && a.userIds.has(lineId(subject)),
        ),
      deletions: async () => forgotten,
      teardown: () => server.close(),
    }
  },
})
