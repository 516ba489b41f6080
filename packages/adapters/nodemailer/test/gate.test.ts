import { ConsentKit, ConsentRequired, createConsentKit, type Intent, MemoryStore } from "@consentkit/core"
import { conformancePolicy, uniqueTenant } from "@consentkit/core/testing"
import { Effect } from "effect"
import { expect, it } from "vitest"
import { nodemailerMessenger } from "../src/index.js"

const intent = (kind: Intent.Kind, tenant: string, subject: string, purpose: string): Intent.Intent => ({
  id: `${kind}-${purpose}-${subject}`,
  tenant,
  subject,
  kind,
  // The resume comes after the suppress in the subject's ledger.
  seq: kind === "messaging.resume" ? 2 : 1,
  createdAt: new Date(),
  purpose,
  reason: kind === "messaging.suppress" ? "parent_withdrawn" : "granted",
  categories: [],
  channels: ["email"],
  changes: [],
  aliases: [],
  erasureId: null,
  pseudonym: null,
  snapshot: null,
})

it("refuses from the local suppression list even while the kit's cached decision still allows", async () => {
  const sent: Array<string> = []
  const mail = nodemailerMessenger({
    transport: {
      sendMail: async (m) => {
        sent.push(String(m.text))
        return { messageId: "<id@test>" }
      },
    },
    from: "news@siamtea.example",
    recipients: { resolve: () => "somchai@example.com" },
    unsubscribe: {
      url: "https://siamtea.example/u",
      secret: "gate-test-secret-0123456789-0123456789abcdef0123456789abcdef",
    },
  })
  // A long-lived cache in this process, as another process's withdrawal would leave it.
  const kit = createConsentKit({
    policy: conformancePolicy,
    store: MemoryStore.make(),
    secret: "kit-secret-0123456789abcdef0123456789abcdef",
    messengers: [mail],
    cache: { ttlMs: 60_000 },
    dispatcher: { autoStart: false },
  })
  // As the dispatcher delivers: to the messenger the kit built from the descriptor.
  const deliver = (i: Intent.Intent) =>
    Effect.gen(function* () {
      const routed = (yield* ConsentKit.ConsentKit).adapters.find((a) => a.name === mail.name)
      yield* routed!.deliver(i)
    })
  const tenant = uniqueTenant()
  const subject = `${tenant}-c`
  await kit.record({
    tenant,
    subject,
    source: "signup",
    decisions: [{ purpose: "marketing.email", action: "grant", noticeVersion: 1 }],
  })
  const send = (text: string) =>
    kit
      .adapter(mail)
      .send({ tenant, subject, purpose: "marketing.email", message: { subject: text, text } })
      .then(
        () => "sent",
        (e: unknown) => (e instanceof ConsentRequired ? e.decision.reason : Promise.reject(e)),
      )
  expect(await send("one")).toBe("sent")

  // The suppression reaches this messenger (e.g. from another process's withdrawal of the parent purpose).
  await kit.runtime.runPromise(deliver(intent("messaging.suppress", tenant, subject, "marketing")))
  expect((await kit.decide(tenant, subject, "marketing.email")).allowed).toBe(true)
  expect(await send("two")).toBe("parent_withdrawn")

  await kit.runtime.runPromise(deliver(intent("messaging.resume", tenant, subject, "marketing")))
  expect(await send("three")).toBe("sent")
  expect(sent).toEqual(["one", "three"])
  await kit.close()
})
