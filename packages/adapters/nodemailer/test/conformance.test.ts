import { ConsentRequired } from "@consentkit/core"
import { messengerConformance } from "@consentkit/core/testing"
import nodemailer from "nodemailer"
import { nodemailerMessenger } from "../src/index.js"
import { localSmtp } from "../src/testing.js"

messengerConformance("nodemailer", {
  setup: async () => {
    const smtp = await localSmtp()
    const addresses = new Map<string, string>()
    const forgotten: Array<string> = []
    const mail = nodemailerMessenger({
      transport: nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: false,
        ignoreTLS: true,
      }),
      from: "Conformance Co. <news@conformance.example>",
      recipients: {
        resolve: (tenant, subject) => addresses.get(`${tenant}/${subject}`) ?? null,
        forget: ({ tenant, subject }) => {
          const address = addresses.get(`${tenant}/${subject}`)
          if (address) forgotten.push(address)
          addresses.delete(`${tenant}/${subject}`)
        },
      },
      unsubscribe: {
        url: "https://conformance.example/unsubscribe",
        secret: "conformance-unsubscribe-secret-0123456789abcdef0123456789abcdef",
      },
    })
    return {
      adapter: mail,
      channel: "email",
      enroll: async (_kit, { tenant, subject }) => {
        addresses.set(`${tenant}/${subject}`, `${subject}@customers.example`)
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
      delivered: async (subject) => smtp.to(`${subject}@customers.example`).map((m) => m.text),
      deletions: async () => forgotten,
      teardown: () => smtp.close(),
    }
  },
})
