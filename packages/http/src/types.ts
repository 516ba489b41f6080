/**
 * The handler's public types: its options, the extra routes it mounts and what it returns.
 *
 * @since 0.2.0
 */
import type { Mapping } from "@consentkit/consent-mode"
import type { Client, Route as CoreRoute, RouteContext as CoreRouteContext } from "@consentkit/core"

/** A consentkit Promise client, whatever its policy's purpose ids. */
// biome-ignore lint/suspicious/noExplicitAny: the handler serves any policy; Client<P> is invariant in P (its purpose ids sit in parameter and result positions), so no narrower type accepts every client.
export type Kit = Client<any>

/** An event the collection endpoint accepted: only consented events reach the `collect` hook. */
export interface CollectedEvent {
  readonly tenant: string
  readonly subject: string
  readonly purpose: string
  readonly name: string
  readonly properties: Readonly<Record<string, unknown>>
}

/** What an extra route receives besides the request: core's `RouteContext` plus the kit. */
export interface RouteContext extends CoreRouteContext {
  readonly kit: Kit
}

/** An extra route mounted under the base path (e.g. a one-click unsubscribe endpoint): core's `Route` with the kit in its context; its body is read within `maxBodyBytes` before it runs. */
export type Route = CoreRoute<RouteContext>

/**
 * The IAB TCF v2.3 / GPP option of `createHandler` (needs `@consentkit/iab` installed): with it,
 * the state response answers `tcString` and `gppString` as well, and a page may send those
 * strings with its choices to be kept as their evidence.
 */
export interface IabOptions {
  /** The CMP id the IAB registered. */
  readonly cmpId: number
  /** The CMP's version, bumped whenever the consent UI changes. */
  readonly cmpVersion: number
  /** A Global Vendor List v3 JSON object, or a loader such as `@consentkit/iab`'s `VendorList.fromUrl(url)`. */
  readonly vendorList: object | (() => Promise<object>)
  /** The vendors this site works with: only they are disclosed and can be consented (default every vendor listed). */
  readonly vendors?: ReadonlyArray<number>
  /** ISO 3166-1 alpha-2; default the controller's `address.addressCountry`. */
  readonly publisherCountryCode?: string
  /** ISO 639-1 language of the consent UI; default `EN`. */
  readonly consentLanguage?: string
  /** Whether GDPR applies in a jurisdiction; default the `EU` ones. */
  readonly gdprApplies?: (jurisdiction: string) => boolean
}

/** Options of `createHandler`. */
export interface HandlerOptions {
  /** Where the routes live (default `/consent`). */
  readonly basePath?: string
  /** The tenant of a request: a fixed id, or read from the host, a header, the session. */
  readonly tenant: string | ((request: Request) => string | Promise<string>)
  /**
   * The logged-in customer's subject id, or null for an anonymous visitor. Customer ids must not
   * start with `v_` (the namespace of the visitor ids the handler issues).
   */
  readonly identify?: (request: Request) => string | null | undefined | Promise<string | null | undefined>
  /**
   * Where the visitor is (`US-CA`, `TH`, `EU-FR`), e.g. from a geo header your CDN sets; decides
   * whether `Sec-GPC: 1` binds and is recorded with each decision. Never read from the body.
   */
  readonly jurisdiction?: (request: Request) => string | null | undefined | Promise<string | null | undefined>
  /** The visitor's age where the host knows it (e.g. from the account); recorded with decisions. Never read from the body. */
  readonly age?: (request: Request) => number | null | undefined | Promise<number | null | undefined>
  /** Collection points a browser may name as `source` (default `banner`, `preference-center`; the first is the default). */
  readonly sources?: ReadonlyArray<string>
  /**
   * Whether the request may use the operator routes (history, export, erase) of `tenant`. Without
   * it they always answer 403; anything but `true` is a refusal. Compare tokens in constant time
   * (see `operatorToken`).
   */
  readonly authorizeOperator?: (
    request: Request,
    context: { readonly tenant: string },
  ) => boolean | Promise<boolean>
  /**
   * The anonymous visitor cookie: HttpOnly and SameSite=Lax always. It carries a visitor id the
   * handler issued, signed with a key derived from the kit's secret; anything else is ignored.
   */
  readonly cookie?: {
    /** Default `ck_vid`. */
    readonly name?: string
    /** Default true; set false only for plain-HTTP development. */
    readonly secure?: boolean
    readonly domain?: string
    /** Default `/`. */
    readonly path?: string
    /** Default 395 days (13 months). */
    readonly maxAgeDays?: number
  }
  /**
   * The Google Analytics cookie to read on record and collect requests (default `_ga`; `false`
   * to never read it). A well-formed one (`GA1.1.<random>.<timestamp>`, digits only) links its
   * client id `<random>.<timestamp>` to the subject as an alias of kind `ga4:client_id`, so an
   * erasure deletes that browser's GA data too; anything else is ignored and writes nothing.
   */
  readonly gaCookie?: string | false
  /** Receives events from the collection endpoint that consent allows; without it the endpoint is absent. */
  readonly collect?: (event: CollectedEvent) => Promise<void>
  /** Extra routes under the base path. */
  readonly routes?: ReadonlyArray<Route>
  /** Largest request body read, for every route (default 64 KiB; a route may set its own `maxBodyBytes`); larger bodies get 413 before any parsing. */
  readonly maxBodyBytes?: number
  /** Longest time to receive a request body (default 10 s); slower bodies get 408. */
  readonly bodyTimeoutMs?: number
  /**
   * When set, state-changing requests must carry a listed `Origin`, or no `Origin` and a
   * `Sec-Fetch-Site` of `same-origin` or `same-site`; others get 403 (cross-site forgery guard).
   */
  readonly allowedOrigins?: ReadonlyArray<string>
  /** `lastUpdate` of `/.well-known/gpc.json` (YYYY-MM-DD). */
  readonly gpcLastUpdate?: string
  /** Which purposes or categories grant each Google Consent Mode type in state responses. */
  readonly consentMode?: Mapping
  /** IAB TCF v2.3 and GPP strings in state responses (`@consentkit/iab` must be installed). */
  readonly iab?: IabOptions
  /** Adds evidence to recorded decisions (e.g. `{ ipHash }`), beside the user agent and locale taken from the request. */
  readonly evidence?: (request: Request) => Readonly<Record<string, unknown>> | undefined
  /** Called with unexpected errors before the 500 goes out (logging). */
  readonly onError?: (error: unknown, request: Request) => void
}

/** The handler, with what framework adapters need to route to it. */
export interface ConsentHandler {
  (request: Request): Promise<Response>
  readonly basePath: string
  /** Whether a path is the handler's (under the base path, or `/.well-known/gpc.json`). */
  readonly owns: (pathname: string) => boolean
  /** The visitor id of the request's cookie if this handler issued it (signature checked), else null. */
  readonly visitorOf: (request: Request) => Promise<string | null>
}
