"use client"

/** The client side: the provider fed by the consent routes, and the banner. */
import { ConsentBanner, ConsentProvider, useConsent } from "@consentkit/react"
import type { ReactNode } from "react"

export const Providers = ({ children }: { children: ReactNode }) => (
  <ConsentProvider endpoint="/consent">
    {children}
    <ConsentBanner />
  </ConsentProvider>
)

/** What the browser knows: denied until the server says otherwise. */
export const ClientDecision = ({ purpose }: { purpose: string }) => {
  const { allowed, loading } = useConsent(purpose)
  return (
    <p id="client-decision">
      {loading ? "loading" : `${purpose} in the browser: ${allowed ? "allowed" : "not allowed"}`}
    </p>
  )
}
