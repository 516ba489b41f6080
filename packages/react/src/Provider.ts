/**
 * `<ConsentProvider>` and the hooks under it. The provider holds the page's `ConsentClient` from
 * `@consentkit/web` (the same one `<ck-banner>` and `<ck-preferences>` use for that endpoint), loads
 * the visitor's preference-center model once it runs in a browser, and re-renders its consumers on
 * every change. During a server render there is no client and no model: every purpose reads as
 * loading and not allowed, so nothing runs before the server has said it may.
 *
 * @since 0.1.0
 */
import {
  allows,
  type ConsentClient,
  consentClient,
  type DecisionInput,
  type PreferencesModel,
  type Reason,
  type Source,
} from "@consentkit/web"
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useState,
  useSyncExternalStore,
} from "react"

/** Props of `<ConsentProvider>`. */
export interface ConsentProviderProps {
  /** Where the consent routes are mounted (default `/consent`). */
  readonly endpoint?: string
  /** Purposes a Global Privacy Control signal refuses (default: those governing advertising). */
  readonly gpcPurposes?: ReadonlyArray<string>
  /** Injectable fetch for the client (default the global one). */
  readonly fetch?: typeof fetch
  /** A client to use instead of the page's shared one for `endpoint` (the elements keep the shared one). */
  readonly client?: ConsentClient
  readonly children?: ReactNode
}

/** What the provider shares with its hooks. */
interface ConsentContextValue {
  readonly client: ConsentClient | null
  readonly model: PreferencesModel | null
  readonly error: unknown
}

const ConsentContext = createContext<ConsentContextValue | null>(null)

const noSubscription = () => () => {}
const noModel = () => null

/** The client for the browser; none during a server render, where nothing may be fetched or shared between requests. */
const browserClient = (props: ConsentProviderProps): ConsentClient | null => {
  if (props.client) return props.client
  if (typeof window === "undefined") return null
  return consentClient({
    ...(props.endpoint !== undefined ? { endpoint: props.endpoint } : {}),
    ...(props.gpcPurposes !== undefined ? { gpcPurposes: props.gpcPurposes } : {}),
    ...(props.fetch !== undefined ? { fetch: props.fetch } : {}),
  })
}

/** Provides the visitor's consent, loaded from the consent routes, to `useConsent` and `useConsentState`. */
export const ConsentProvider = (props: ConsentProviderProps): ReactNode => {
  // One client for the provider's life; a later change of props does not swap it.
  const [client] = useState(() => browserClient(props))
  const [error, setError] = useState<unknown>(null)
  const subscribe = useCallback(
    (onChange: () => void) => {
      if (!client) return () => {}
      client.addEventListener("change", onChange)
      return () => client.removeEventListener("change", onChange)
    },
    [client],
  )
  const model = useSyncExternalStore(
    client ? subscribe : noSubscription,
    () => client?.model ?? null,
    // The server render, and hydration over it, show no model.
    noModel,
  )
  useEffect(() => {
    if (!client) return
    let live = true
    client.load().then(
      () => live && setError(null),
      (cause: unknown) => live && setError(cause),
    )
    return () => {
      live = false
    }
  }, [client])
  const value = useMemo(() => ({ client, model, error }), [client, model, error])
  return createElement(ConsentContext.Provider, { value }, props.children)
}

const useConsentContext = (hook: string): ConsentContextValue => {
  const value = useContext(ConsentContext)
  if (!value) throw new Error(`consentkit: ${hook} must be used inside <ConsentProvider>`)
  return value
}

/** The answer of `useConsent`. */
export interface PurposeConsent {
  /** Whether the purpose may be used now; false while loading, on the server, and for an unknown purpose. */
  readonly allowed: boolean
  /** Why, as the server decided (null while loading or for a purpose the server does not know). */
  readonly reason: Reason | null
  /** True until the visitor's model has loaded (always on the server). */
  readonly loading: boolean
}

/** Whether one purpose is allowed for the visitor now, and why. */
export const useConsent = (purpose: string): PurposeConsent => {
  const { model, error } = useConsentContext("useConsent")
  const choice = model?.purposes.find((p) => p.id === purpose)?.choice
  return {
    allowed: allows(model, purpose),
    reason: choice?.reason ?? null,
    loading: model === null && !error,
  }
}

/** Options of `grant` / `withdraw` / `record` from `useConsentState`. */
export interface RecordOptions {
  /** Where the decision was made (default `preference-center`; the server accepts `banner` and `preference-center` unless configured). */
  readonly source?: Source
  /** Kept with the decisions as evidence. */
  readonly metadata?: Readonly<Record<string, unknown>>
}

/** The answer of `useConsentState`. */
export interface ConsentState {
  /** The visitor's preference-center model, or null while loading (always on the server). */
  readonly model: PreferencesModel | null
  readonly loading: boolean
  /** Why the model could not be loaded (a `ConsentRequestError` from the client), or null. */
  readonly error: unknown
  /** The client behind the provider (null on the server). */
  readonly client: ConsentClient | null
  /** Records decisions and resolves with the model the server answers after them. */
  readonly record: (
    decisions: ReadonlyArray<DecisionInput>,
    options?: RecordOptions,
  ) => Promise<PreferencesModel>
  /** Grants purposes under the notice version in force. */
  readonly grant: (
    purposes: string | ReadonlyArray<string>,
    options?: RecordOptions,
  ) => Promise<PreferencesModel>
  /** Withdraws purposes. */
  readonly withdraw: (
    purposes: string | ReadonlyArray<string>,
    options?: RecordOptions,
  ) => Promise<PreferencesModel>
  /** Asks the server for the model again. */
  readonly refresh: () => Promise<PreferencesModel>
}

const listOf = (purposes: string | ReadonlyArray<string>): ReadonlyArray<string> =>
  typeof purposes === "string" ? [purposes] : purposes

const serverOnly = (): Promise<never> =>
  Promise.reject(new Error("consentkit: consent can only be recorded in the browser"))

/** The visitor's whole model, with helpers that record choices. */
export const useConsentState = (): ConsentState => {
  const { client, model, error } = useConsentContext("useConsentState")
  return useMemo(() => {
    const record: ConsentState["record"] = (decisions, options = {}) =>
      client
        ? client.record(decisions, options.source ?? "preference-center", options.metadata ?? {})
        : serverOnly()
    const grant: ConsentState["grant"] = async (purposes, options) => {
      if (!client) return serverOnly()
      const current = client.model ?? (await client.load())
      const decisions = listOf(purposes).map((purpose): DecisionInput => {
        const known = current.purposes.find((p) => p.id === purpose)
        return known
          ? { purpose, action: "grant", noticeVersion: known.noticeVersion }
          : { purpose, action: "grant" }
      })
      return record(decisions, options)
    }
    const withdraw: ConsentState["withdraw"] = (purposes, options) =>
      record(
        listOf(purposes).map((purpose): DecisionInput => ({ purpose, action: "withdraw" })),
        options,
      )
    return {
      model,
      loading: model === null && !error,
      error,
      client,
      record,
      grant,
      withdraw,
      refresh: () => (client ? client.load(true) : serverOnly()),
    }
  }, [client, model, error])
}
