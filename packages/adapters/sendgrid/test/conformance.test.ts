import { ConsentRequired } from "@consentkit/core"
import { messengerConformance } from "@consentkit/core/testing"
import { sendgridMessenger } from "../src/index.js"
import { localSendGrid } from "../src/testing.js"

const API_KEY = "SG.conformance-key"
const emailOf = (subject: string) => `${subject}@customers.example`

messengerConformance("sendgrid", {
  setup: async () => {
    const server = await localSendGrid({ apiKey: API_KEY })
    const mail = sendgridMessenger({
      apiKey: API_KEY,
      baseUrl: server.url,
      from: { email: "news@conformance.example", name: "Conformance Co." },
      recipients: { resolve: (_tenant, subject) => emailOf(subject) },
      suppression: { kind: "global" },
    })
    return {
      adapter: mail,
      channel: "email",
      enroll: async (_kit, { subject }) => {
        server.addContact(emailOf(subject))
      },
      send: async (kit, { tenant, subject, purpose, text }) => {
        try {
          await kit.adapter(mail).send({ tenant, subject, purpose, message: { subject: text, text } })
          return "sent"
        } catch (error) {
          if (error instanceof ConsentRequired) return "refused"
          throw error
        }
      },
      delivered: async (subject) => server.delivered(emailOf(subject)),
      suppressed: async (subject) => server.globalSuppressions.has(emailOf(subject).toLowerCase()),
      deletions: async () => server.deletedContactIds,
      teardown: () => server.close(),
    }
  },
})
