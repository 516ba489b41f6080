/**
 * The browser side of the consent routes that every framework adapter serves: loads the visitor's
 * preference-center model, records choices, and keeps the page in step after each change (Consent
 * Mode updates, held scripts, a `consentkit:change` event). One client per endpoint is shared by
 * every element on the page.
 *
 * @since 0.1.0
 */
import { pushDefault, pushUpdate, type GtagHost } from "./DataLayer.js"
import { allows, type DecisionInput, gpcPurposes, gpcRefusals, type PreferencesModel } from "./Model.js"
import { activateScripts } from "./Scripts.js"
import type { Locale } from "./Texts.js"

/** Where a decision was made, as the ledger's `source` records it. */
export type Source = "banner" | "preference-center" | (string & {})

/** The `detail` of the `consentkit:change` event dispatched on `document`. */
export interface ChangeDetail {
  readonly model: PreferencesModel
  readonly consentMode: PreferencesModel["consentMode"]
}

/** Options of `consentClient`. */
export interface ClientOptions {
  /** Where the consent routes are mounted (default `/consent`). */
  readonly endpoint?: string
  /** Purposes a Global Privacy Control signal refuses (default: those governing the `advertising` tracker category). */
  readonly gpcPurposes?: ReadonlyArray<string>
  /** Injectable fetch (default the global one). */
  readonly fetch?: typeof fetch
}

/** A failed request to the consent routes, with the server's error code when it sent one. */
export class ConsentRequestError extends Error {
  override readonly name = "ConsentRequestError"
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message)
  }
}

const gpcSignal = (): boolean =>
  typeof navigator !== "undefined" &&
  (navigator as Navigator & { globalPrivacyControl?: boolean }).globalPrivacyControl === true

const randomKey = (): string =>
  typeof crypto !== "undefined" && "randomUUID" in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`

/** The shared client of one endpoint. */
export class ConsentClient extends EventTarget {
  readonly endpoint: string
  /** Whether the browser sends a Global Privacy Control signal (`navigator.globalPrivacyControl`). */
  readonly gpc: boolean
  model: PreferencesModel | null = null
  locale: Locale | null = null
  private loading: Promise<PreferencesModel> | null = null
  private lastUpdate: string | null = null
  private readonly doFetch: typeof fetch
  private readonly gpcList: ReadonlyArray<string> | undefined

  constructor(options: ClientOptions = {}) {
    super()
    this.endpoint = (options.endpoint ?? "/consent").replace(/\/+$/, "")
    this.doFetch = options.fetch ?? ((input, init) => fetch(input, init))
    this.gpcList = options.gpcPurposes
    this.gpc = gpcSignal()
    if (typeof window !== "undefined") pushDefault(window as unknown as GtagHost)
  }

  /** The purposes the GPC signal refuses on this page (empty without the signal). */
  gpcRefused(): Array<string> {
    return this.gpc && this.model ? gpcPurposes(this.model, this.gpcList) : []
  }

  /** Loads the model once (concurrent callers share the request); `refresh` asks the server again. */
  load(refresh = false): Promise<PreferencesModel> {
    if (this.loading && !refresh) return this.loading
    const loading = this.request<PreferencesModel>("GET", "/preferences").then(async (model) => {
      this.apply(model)
      // A GPC signal refuses the purposes it covers that the visitor has not answered.
      const refusals = this.gpc ? gpcRefusals(model, gpcPurposes(model, this.gpcList)) : []
      if (refusals.length > 0) {
        await this.record(refusals, "banner", { signal: "navigator.globalPrivacyControl" })
        return this.model!
      }
      return model
    })
    this.loading = loading
    loading.catch(() => {
      if (this.loading === loading) this.loading = null
    })
    return loading
  }

  /**
   * Records decisions, then reloads the model so every element shows what the server now decides.
   * `locale` is the language the visitor read the notice in (kept as evidence; default: the
   * switched locale, else the server takes the request's `Accept-Language`).
   */
  async record(
    decisions: ReadonlyArray<DecisionInput>,
    source: Source,
    metadata: Readonly<Record<string, unknown>> = {},
    locale: Locale | null = this.locale,
  ): Promise<PreferencesModel> {
    if (decisions.length > 0) {
      await this.request("POST", "/record", {
        decisions,
        source,
        // A retried request records once.
        idempotencyKey: randomKey(),
        evidence: {
          ...(locale ? { locale } : {}),
          metadata: { ...metadata, ...(this.gpc ? { gpc: true } : {}) },
        },
      })
    }
    const model = await this.request<PreferencesModel>("GET", "/preferences")
    this.apply(model)
    this.loading = Promise.resolve(model)
    // The IAB CMP APIs (`installCmpApi`) fetch their strings again on this.
    if (decisions.length > 0) this.dispatchEvent(new Event("recorded"))
    return model
  }

  /** Whether a purpose is allowed now, by the last model loaded. */
  allows(purpose: string): boolean {
    return allows(this.model, purpose)
  }

  /** Sets the locale every element of this client speaks and tells them. */
  setLocale(locale: Locale): void {
    this.locale = locale
    this.dispatchEvent(new Event("locale"))
  }

  private apply(model: PreferencesModel): void {
    this.model = model
    if (typeof document !== "undefined") {
      const pushed = pushUpdate(window as unknown as GtagHost, model.consentMode, this.lastUpdate)
      if (pushed !== null) this.lastUpdate = pushed
      activateScripts(document, (purpose) => allows(model, purpose))
      document.dispatchEvent(
        new CustomEvent<ChangeDetail>("consentkit:change", {
          detail: { model, consentMode: model.consentMode },
        }),
      )
    }
    this.dispatchEvent(new Event("change"))
  }

  private async request<A = unknown>(method: "GET" | "POST", path: string, body?: unknown): Promise<A> {
    const response = await this.doFetch(`${this.endpoint}${path}`, {
      method,
      credentials: "same-origin",
      headers: { accept: "application/json", ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
    const payload = await response.json().catch(() => null)
    if (!response.ok) {
      const error = payload?.error
      throw new ConsentRequestError(
        error?.message ?? `${method} ${path} answered ${response.status}`,
        response.status,
        error?.code ?? null,
      )
    }
    return payload
  }
}

const clients = new Map<string, ConsentClient>()

/** The page's client for an endpoint (created on first use). */
export const consentClient = (options: ClientOptions = {}): ConsentClient => {
  const endpoint = (options.endpoint ?? "/consent").replace(/\/+$/, "")
  let client = clients.get(endpoint)
  if (!client) {
    client = new ConsentClient({ ...options, endpoint })
    clients.set(endpoint, client)
  }
  return client
}
