/**
 * The app's one consent kit and handler, made on first use (never at build time) and kept on
 * `globalThis` so the route handler and server components share them. A real app gives it a
 * `@consentkit/storage-kysely` store; the example keeps consent in memory.
 */
import { type Client, createConsentKit, MemoryStore } from "@consentkit/core"
import { type ConsentHandler, createHandler } from "@consentkit/http"
import { type Purpose, policy } from "./policy"

interface Consent {
  readonly kit: Client<Purpose>
  readonly handler: ConsentHandler
}

const holder = globalThis as typeof globalThis & { __consentkit?: Consent }

export const TENANT = "siamtea"

export const consent = (): Consent => {
  holder.__consentkit ??= (() => {
    const kit = createConsentKit({
      policy,
      store: MemoryStore.make(),
      // At least 32 random bytes from the environment; there is no default.
      secret: process.env.CONSENTKIT_SECRET ?? "",
    })
    const handler = createHandler(kit, {
      tenant: TENANT,
      cookie: { secure: process.env.NODE_ENV === "production" },
    })
    return { kit, handler }
  })()
  return holder.__consentkit
}
