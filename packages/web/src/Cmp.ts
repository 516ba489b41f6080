/**
 * The IAB CMP APIs on the page: `__tcfapi` (TCF v2.3: `ping`, `getTCData`, `addEventListener`,
 * `removeEventListener`) and `__gpp` (GPP 1.1: `ping`, `addEventListener`, `removeEventListener`,
 * `hasSection`, `getSection`, `getField`), answered from the TC and GPP strings the server's
 * `GET <endpoint>/state` computes (`@consentkit/http` with its `iab` option). A stub queues calls
 * made before this code loads; the strings are fetched again whenever the visitor changes a choice.
 * No IAB library reaches the page: the server encodes, the page only serves what it answered.
 *
 * @since 0.2.0
 */

/** The state fields the server adds with its `iab` option (see `@consentkit/iab`'s `Cmp.StateFields`). */
export interface IabState {
  readonly tcString: string
  readonly gppString: string
  /** The version of the Global Vendor List the TC string was made against. */
  readonly gvlVersion?: number
  readonly tcData: Readonly<Record<string, unknown>> & {
    readonly gdprApplies: boolean
    readonly cmpId: number
    readonly cmpVersion: number
    readonly tcfPolicyVersion: number
  }
  readonly gppData: {
    readonly gppVersion: string
    readonly sectionList: ReadonlyArray<number>
    readonly applicableSections: ReadonlyArray<number>
    readonly parsedSections: Readonly<Record<string, unknown>>
  }
}

type Callback = (value: unknown, success: boolean) => void
type TcfApi = ((command?: string, version?: number, callback?: Callback, parameter?: unknown) => unknown) & {
  /** Set on the stub `CMP_STUB` defines: the browser build then installs the API by itself. */
  consentkitStub?: true
  /** Set on the installed API. */
  consentkit?: CmpApi
}
type GppApi = ((command?: string, callback?: Callback, parameter?: unknown, version?: string) => unknown) & {
  queue?: Array<ArrayLike<unknown>>
  consentkit?: CmpApi
}

/** The window the APIs are installed on. */
export interface CmpHost {
  __tcfapi?: TcfApi
  __gpp?: GppApi
  /** Set once the locator frames and the message listener are in place (by the stub or the API). */
  __consentkitFrames?: true
}

/** Something that says when the visitor's choices were recorded (the page's `ConsentClient`, event `recorded`). */
export interface ChangeSource {
  addEventListener(type: "recorded", listener: () => void): void
}

/** Options of `installCmpApi`. */
export interface CmpOptions {
  /** Where the consent routes are mounted (default `/consent`). */
  readonly endpoint?: string
  /** Injectable fetch (default the global one). */
  readonly fetch?: typeof fetch
  /** The client whose `recorded` events mean a choice changed (e.g. `consentClient()`). */
  readonly changes?: ChangeSource
  /** The window to install on (default `window`). */
  readonly host?: CmpHost
}

/** The page's CMP API: what it serves now, and a way to fetch the strings again. */
export interface CmpApi {
  readonly state: () => IabState | null
  /** Fetches the strings again and tells every listener (called on each change of the client). */
  readonly refresh: () => Promise<IabState>
}

/**
 * The stub: defines `__tcfapi` and `__gpp` that queue calls until `installCmpApi` runs (answering
 * `ping` at once). Inline it first in `<head>`: `<script>${CMP_STUB}</script>`.
 */
export const stub = (host: CmpHost): void => {
  if (!host.__tcfapi) {
    const queue: Array<ArrayLike<unknown>> = []
    const tcf = function (this: unknown, ...args: Array<unknown>) {
      if (args.length === 0) return queue
      if (args[0] === "ping") {
        ;(args[2] as Callback)(
          { gdprApplies: undefined, cmpLoaded: false, cmpStatus: "stub", apiVersion: "2.3" },
          true,
        )
        return
      }
      queue.push(args)
    } as TcfApi
    tcf.consentkitStub = true
    host.__tcfapi = tcf
  }
  if (!host.__gpp) {
    const gpp = function (this: unknown, ...args: Array<unknown>) {
      if (args.length === 0) return gpp.queue
      if (args[0] === "ping") {
        ;(args[1] as Callback)(
          {
            gppVersion: "1.1",
            cmpStatus: "stub",
            cmpDisplayStatus: "hidden",
            signalStatus: "not ready",
            supportedAPIs: ["2:tcfeuv2", "7:usnat"],
            cmpId: 0,
            sectionList: [],
            applicableSections: [-1],
            gppString: "",
            parsedSections: {},
          },
          true,
        )
        return
      }
      gpp.queue!.push(args)
    } as GppApi
    gpp.queue = []
    host.__gpp = gpp
  }
  if (isWindow(host)) serveFrames(host)
}

const isWindow = (host: CmpHost): host is CmpHost & Window =>
  typeof window !== "undefined" && host === (window as unknown as CmpHost)

/**
 * The stub as an inline script, for the top of `<head>`: what `stub(window)` does, written out as
 * plain ES5 (a function's own source would carry a bundler's helpers, which the page lacks).
 */
export const CMP_STUB =
  "(function(w){if(!w.__tcfapi){var q=[];var t=function(){var a=arguments;if(!a.length)return q;" +
  'if(a[0]==="ping"){a[2]({gdprApplies:undefined,cmpLoaded:false,cmpStatus:"stub",apiVersion:"2.3"},true);return}' +
  "q.push(a)};t.consentkitStub=true;w.__tcfapi=t}if(!w.__gpp){var g=function(){var a=arguments;if(!a.length)return g.queue;" +
  'if(a[0]==="ping"){a[1]({gppVersion:"1.1",cmpStatus:"stub",cmpDisplayStatus:"hidden",signalStatus:"not ready",' +
  'supportedAPIs:["2:tcfeuv2","7:usnat"],cmpId:0,sectionList:[],applicableSections:[-1],gppString:"",parsedSections:{}},true);return}' +
  "g.queue.push(a)};g.queue=[];w.__gpp=g}" +
  // The locator frames, as soon as there is a body, and the message listener (as serveFrames).
  'var d=w.document;if(!d||w.__consentkitFrames)return;w.__consentkitFrames=true;var n=["__tcfapiLocator","__gppLocator"];' +
  "var f=function(){if(!d.body){setTimeout(f,5);return}for(var i=0;i<n.length;i++){if(w.frames[n[i]])continue;" +
  'var e=d.createElement("iframe");e.name=n[i];e.style.display="none";e.setAttribute("aria-hidden","true");e.tabIndex=-1;d.body.appendChild(e)}};f();' +
  'w.addEventListener("message",function(e){var s=typeof e.data==="string",m=e.data;if(s){try{m=JSON.parse(e.data)}catch(x){return}}' +
  'var o=e.source;if(!m||typeof m!=="object"||!o)return;var r=function(p){o.postMessage(s?JSON.stringify(p):p,"*")};' +
  'var c=m.__tcfapiCall,g=m.__gppCall;if(c&&typeof c==="object"&&w.__tcfapi){w.__tcfapi(c.command,c.version,function(v,k){' +
  'r({__tcfapiReturn:{returnValue:v,success:k,callId:c.callId}})},c.parameter)}else if(g&&typeof g==="object"&&w.__gpp){' +
  "w.__gpp(g.command,function(v,k){r({__gppReturn:{returnValue:v,success:k,callId:g.callId}})},g.parameter,g.version)}})})(window);"

const SUPPORTED_APIS = ["2:tcfeuv2", "7:usnat"]

/**
 * Installs `__tcfapi` and `__gpp` on the page, answers what the stub queued, and keeps both in
 * step with the visitor's choices.
 *
 * @example
 * ```ts
 * import { consentClient, installCmpApi } from "@consentkit/web"
 *
 * installCmpApi({ changes: consentClient() })
 * window.__tcfapi("getTCData", 2, (tcData, success) => console.log(success, tcData.tcString))
 * ```
 */
export const installCmpApi = (options: CmpOptions = {}): CmpApi => {
  const host = options.host ?? (window as unknown as CmpHost)
  const installed = host.__tcfapi?.consentkit
  if (installed) return installed
  const endpoint = (options.endpoint ?? "/consent").replace(/\/+$/, "")
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init))
  let current: IabState | null = null
  let changed = false
  // Refreshes can overlap (a load, then a choice): an older answer never replaces a newer one.
  let requested = 0
  let published = 0
  const waiting: Array<{ readonly then: (state: IabState) => void; readonly fail: () => void }> = []
  let nextId = 1
  const tcfListeners = new Map<number, Callback>()
  const gppListeners = new Map<number, Callback>()

  const whenLoaded = (then: (state: IabState) => void, fail: () => void) => {
    if (current) then(current)
    else waiting.push({ then, fail })
  }

  const tcData = (state: IabState, eventStatus: string, listenerId?: number, vendorIds?: unknown) => {
    const data: Record<string, unknown> = { ...state.tcData, eventStatus, cmpStatus: "loaded", listenerId }
    // getTCData with vendor ids answers only those vendors.
    if (Array.isArray(vendorIds)) {
      const vendor = state.tcData.vendor as Record<string, Record<number, boolean>>
      const pick = (flags: Record<number, boolean> = {}) =>
        Object.fromEntries(vendorIds.map((id: number) => [id, flags[id] === true]))
      data.vendor = {
        consents: pick(vendor.consents),
        legitimateInterests: pick(vendor.legitimateInterests),
        disclosedVendors: pick(vendor.disclosedVendors),
      }
    }
    return data
  }

  const gppPing = (state: IabState | null) => ({
    gppVersion: "1.1",
    cmpStatus: state ? "loaded" : "stub",
    cmpDisplayStatus: "hidden",
    signalStatus: state ? "ready" : "not ready",
    supportedAPIs: SUPPORTED_APIS,
    cmpId: state?.tcData.cmpId ?? 0,
    sectionList: state?.gppData.sectionList ?? [],
    applicableSections: state?.gppData.applicableSections ?? [-1],
    gppString: state?.gppString ?? "",
    parsedSections: state?.gppData.parsedSections ?? {},
  })

  const tcfapi: TcfApi = (command, version, callback, parameter) => {
    if (typeof callback !== "function") return
    if (version !== undefined && version !== 0 && version !== 2) {
      callback(null, false)
      return
    }
    switch (command) {
      case "ping":
        callback(
          {
            gdprApplies: current?.tcData.gdprApplies,
            cmpLoaded: true,
            cmpStatus: current ? "loaded" : "loading",
            displayStatus: "hidden",
            apiVersion: "2.3",
            cmpVersion: current?.tcData.cmpVersion,
            cmpId: current?.tcData.cmpId,
            gvlVersion: current?.gvlVersion,
            tcfPolicyVersion: current?.tcData.tcfPolicyVersion,
          },
          true,
        )
        return
      case "getTCData":
        whenLoaded(
          (state) =>
            callback(tcData(state, changed ? "useractioncomplete" : "tcloaded", undefined, parameter), true),
          () => callback(null, false),
        )
        return
      case "addEventListener": {
        const id = nextId++
        tcfListeners.set(id, callback)
        whenLoaded(
          (state) => {
            if (tcfListeners.has(id))
              callback(tcData(state, changed ? "useractioncomplete" : "tcloaded", id), true)
          },
          () => callback(null, false),
        )
        return
      }
      case "removeEventListener":
        callback(tcfListeners.delete(parameter as number), true)
        return
      default:
        callback(null, false)
    }
  }

  const gppapi: GppApi = (command, callback, parameter) => {
    if (typeof callback !== "function") return
    const sections = current?.gppData.parsedSections ?? {}
    switch (command) {
      case "ping":
        callback(gppPing(current), true)
        return
      case "addEventListener": {
        const id = nextId++
        gppListeners.set(id, callback)
        callback(
          { eventName: "listenerRegistered", listenerId: id, data: true, pingData: gppPing(current) },
          true,
        )
        return
      }
      case "removeEventListener": {
        const removed = gppListeners.delete(parameter as number)
        callback(
          { eventName: "listenerRemoved", listenerId: parameter, data: removed, pingData: gppPing(current) },
          removed,
        )
        return
      }
      case "hasSection":
        callback(typeof parameter === "string" && parameter in sections, true)
        return
      case "getSection":
        callback(typeof parameter === "string" ? (sections[parameter] ?? null) : null, true)
        return
      case "getField": {
        const [section, field] = typeof parameter === "string" ? parameter.split(".") : []
        const value =
          section && field ? (sections[section] as Record<string, unknown> | undefined)?.[field] : undefined
        callback(value ?? null, true)
        return
      }
      default:
        callback(null, false)
    }
  }

  const publish = (state: IabState, first: boolean) => {
    current = state
    for (const { then } of waiting.splice(0)) then(state)
    if (!first) {
      for (const [id, listener] of tcfListeners) listener(tcData(state, "useractioncomplete", id), true)
    }
    const ping = gppPing(state)
    for (const [id, listener] of gppListeners) {
      listener(
        {
          eventName: first ? "signalStatus" : "sectionChange",
          listenerId: id,
          data: first ? "ready" : ping.sectionList,
          pingData: ping,
        },
        true,
      )
    }
  }

  const refresh = (): Promise<IabState> => {
    const first = current === null
    const seq = ++requested
    const request = doFetch(`${endpoint}/state`, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
    }).then(async (response) => {
      const body = (await response.json()) as Partial<IabState>
      if (!response.ok || typeof body.tcString !== "string") {
        throw new Error(`GET ${endpoint}/state answered no tcString (is the handler's iab option set?)`)
      }
      if (seq > published) {
        published = seq
        publish(body as IabState, first && current === null)
      }
      return body as IabState
    })
    request.catch(() => {
      // Without strings to serve, calls waiting for the first ones fail instead of hanging.
      if (current === null) for (const { fail } of waiting.splice(0)) fail()
    })
    return request
  }

  const api: CmpApi = { state: () => current, refresh }
  // Calls the stub queued before this code ran, answered in order once installed.
  const queuedTcf = typeof host.__tcfapi === "function" ? host.__tcfapi() : undefined
  const queuedGpp = typeof host.__gpp === "function" && !host.__gpp.consentkit ? host.__gpp() : undefined
  host.__tcfapi = Object.assign(tcfapi, { consentkit: api })
  host.__gpp = Object.assign(gppapi, { consentkit: api })
  for (const args of Array.isArray(queuedTcf) ? queuedTcf : [])
    tcfapi(...(Array.from(args) as Parameters<TcfApi>))
  for (const args of Array.isArray(queuedGpp) ? queuedGpp : [])
    gppapi(...(Array.from(args) as Parameters<GppApi>))

  if (isWindow(host)) serveFrames(host)

  options.changes?.addEventListener("recorded", () => {
    changed = true
    refresh().catch(() => {})
  })
  refresh().catch(() => {})
  return api
}

/**
 * Cross-frame calls per the CMP API specs: locator frames named `__tcfapiLocator` / `__gppLocator`
 * let a script in an iframe find this window, then `postMessage({ __tcfapiCall: { command,
 * version, parameter, callId } })` (or `__gppCall`) is answered with `__tcfapiReturn` /
 * `__gppReturn` (as a string when the call came as one). The stub sets this up before the bundle
 * loads (calls are then queued like the page's own); each message goes to whatever `__tcfapi` /
 * `__gpp` the window has when it arrives, so one listener serves the stub and the installed API.
 */
const serveFrames = (host: CmpHost & Window): void => {
  if (host.__consentkitFrames) return
  host.__consentkitFrames = true
  const addFrames = () => {
    if (!document.body) {
      setTimeout(addFrames, 5)
      return
    }
    for (const name of ["__tcfapiLocator", "__gppLocator"]) {
      if (host.frames[name as unknown as number]) continue
      const frame = document.createElement("iframe")
      frame.name = name
      frame.style.display = "none"
      frame.setAttribute("aria-hidden", "true")
      frame.tabIndex = -1
      document.body.appendChild(frame)
    }
  }
  addFrames()
  host.addEventListener("message", (event: MessageEvent) => {
    const asString = typeof event.data === "string"
    let data: unknown = event.data
    if (asString) {
      try {
        data = JSON.parse(event.data as string)
      } catch {
        return
      }
    }
    if (typeof data !== "object" || data === null) return
    const message = data as {
      __tcfapiCall?: { command: string; version?: number; parameter?: unknown; callId: unknown }
      __gppCall?: { command: string; version?: string; parameter?: unknown; callId: unknown }
    }
    const source = event.source as Window | null
    if (!source) return
    const reply = (payload: unknown) => source.postMessage(asString ? JSON.stringify(payload) : payload, "*")
    const tcf = message.__tcfapiCall
    const gpp = message.__gppCall
    if (typeof tcf === "object" && tcf !== null && host.__tcfapi) {
      host.__tcfapi(
        tcf.command,
        tcf.version,
        (returnValue, success) => reply({ __tcfapiReturn: { returnValue, success, callId: tcf.callId } }),
        tcf.parameter,
      )
    } else if (typeof gpp === "object" && gpp !== null && host.__gpp) {
      host.__gpp(
        gpp.command,
        (returnValue, success) => reply({ __gppReturn: { returnValue, success, callId: gpp.callId } }),
        gpp.parameter,
        gpp.version,
      )
    }
  })
}
