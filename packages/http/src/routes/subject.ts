/**
 * The visitor's routes: record choices, read the state and the preference center, and collect
 * consented events.
 *
 * @since 0.2.0
 */
import { DEFAULT_MAPPING, fromChoices, withCategories } from "@consentkit/consent-mode"
import { Command, type Decision, Policy, type State } from "@consentkit/core"
import { jsonOf } from "../internal/body.js"
import { compile, type Compiled } from "../internal/router.js"
import { iabEvidence, iabStateFields } from "../internal/iab.js"
import type { Session } from "../internal/session.js"
import { gaClientId } from "../internal/ga.js"
import {
  invalid,
  json,
  objectBody,
  parseCookies,
  preferredLocale,
  Reply,
  type WireIssue,
} from "../internal/wire.js"
import type { HandlerOptions, Kit } from "../types.js"

/** Fields of a browser's record request that only the server sets (identity, time, place, age). */
const SERVER_FIELDS = ["tenant", "subject", "actor", "occurredAt", "jurisdiction", "age"] as const
/** Evidence fields the server takes from the request or the policy, never from the body. */
const SERVER_EVIDENCE = ["noticeHash", "userAgent", "ipHash"] as const
/** What a browser's record request may carry. */
const RECORD_FIELDS = new Set(["decisions", "source", "idempotencyKey", "evidence", "tcString", "gppString"])
/** The longest key a browser may send (stored as `web:<key>`, within core's 200). */
const MAX_KEY = 196
/** Sources a browser may name by default. */
const DEFAULT_SOURCES = ["banner", "preference-center"]
/** A TC or GPP string the page sends with its choices, kept as their evidence (with the `iab` option). */
const IAB_FIELDS = ["tcString", "gppString"] as const

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Why a browser's record body cannot be taken as it is: the fields it must not set, and unknown ones. */
const bodyIssues = (body: Record<string, unknown>, sources: ReadonlyArray<string>): Array<WireIssue> => {
  const issues: Array<WireIssue> = []
  for (const f of SERVER_FIELDS) {
    if (f in body)
      issues.push({ code: "MALFORMED", path: [f], message: "is set by the server, not the request" })
  }
  for (const key of Object.keys(body)) {
    if (!RECORD_FIELDS.has(key) && !(SERVER_FIELDS as ReadonlyArray<string>).includes(key)) {
      issues.push({ code: "MALFORMED", path: [key], message: "is not a field of a record request" })
    }
  }
  if (body.source !== undefined && (typeof body.source !== "string" || !sources.includes(body.source))) {
    issues.push({
      code: "MALFORMED",
      path: ["source"],
      message: `must be one of ${sources.map((s) => `"${s}"`).join(", ")}`,
    })
  }
  if (isPlainObject(body.evidence)) {
    for (const f of SERVER_EVIDENCE) {
      if (f in body.evidence) {
        issues.push({
          code: "MALFORMED",
          path: ["evidence", f],
          message: "is set by the server, not the request",
        })
      }
    }
  }
  const key = body.idempotencyKey
  if (key !== undefined && (typeof key !== "string" || key.length === 0 || key.length > MAX_KEY)) {
    issues.push({
      code: "MALFORMED",
      path: ["idempotencyKey"],
      message: `must be a string of 1 to ${MAX_KEY} characters`,
    })
  }
  return issues
}

/** The TC string's dates: the oldest choice still in force and the newest, from the ledger's state. */
const datesOf = (state: State.SubjectState | null) => {
  let created: Date | null = null
  let lastUpdated: Date | null = null
  for (const p of state?.purposes.values() ?? []) {
    if (!created || p.occurredAt < created) created = p.occurredAt
    if (!lastUpdated || p.occurredAt > lastUpdated) lastUpdated = p.occurredAt
  }
  return { created, lastUpdated }
}

/** Adds metadata to the request's evidence; evidence of the wrong shape is left for validation to report. */
const withMetadata = (given: unknown, extra: Record<string, string>): unknown => {
  if (Object.keys(extra).length === 0) return given
  if (given === undefined) return { metadata: extra }
  if (!isPlainObject(given)) return given
  const metadata = given.metadata
  if (metadata !== undefined && !isPlainObject(metadata)) return given
  return { ...given, metadata: { ...metadata, ...extra } }
}

export const subjectRoutes = (kit: Kit, options: HandlerOptions, session: Session): Array<Compiled> => {
  const { subjectRoute, withGpc } = session
  const policy = kit.policy
  const mapping = options.consentMode ?? DEFAULT_MAPPING

  const choices = (decisions: ReadonlyArray<Decision.Decision>) =>
    decisions.map((d) => ({
      purpose: d.purpose,
      allowed: d.allowed,
      reason: d.reason,
      noticeVersion: d.noticeVersion,
      categories: policy.purposes.get(d.purpose)?.trackerCategories ?? [],
    }))

  const consentModeOf = (decisions: ReadonlyArray<Decision.Decision>) =>
    fromChoices(withCategories(decisions, policy), mapping)

  const sources = options.sources ?? DEFAULT_SOURCES
  const gaCookie = options.gaCookie === undefined ? "_ga" : options.gaCookie

  /** Links the request's GA client id (from a well-formed `_ga` cookie) to the subject; ignores anything else. */
  const linkGaClientId = async (request: Request, tenant: string, subject: string) => {
    if (gaCookie === false) return
    const clientId = gaClientId(parseCookies(request.headers.get("cookie")).get(gaCookie))
    if (clientId === null || clientId === subject) return
    const known = await kit.resolveAlias(tenant, { kind: "ga4:client_id", value: clientId })
    if (known !== null) return
    await kit.link({ tenant, subject, alias: { kind: "ga4:client_id", value: clientId }, merge: false })
  }

  const record = subjectRoute("write", async (request, who, settle) => {
    const body = objectBody(await jsonOf(request))
    const issues = bodyIssues(body, sources)
    if (issues.length > 0) throw new Reply(invalid(issues))
    // A TC / GPP string the page's CMP made from these choices is kept as their evidence.
    const { tcString, gppString } = body
    let iabMetadata: Record<string, string> = {}
    if (tcString !== undefined || gppString !== undefined) {
      if (!options.iab) {
        throw new Reply(
          invalid(
            IAB_FIELDS.filter((f) => f in body).map((f) => ({
              code: "MALFORMED",
              path: [f],
              message: "is accepted only when the handler has the iab option",
            })),
          ),
        )
      }
      const { issues, metadata } = await iabEvidence({ tcString, gppString })
      if (issues.length > 0) throw new Reply(invalid(issues.map((i) => ({ code: "MALFORMED", ...i }))))
      iabMetadata = metadata
    }
    const withIab = withMetadata(body.evidence, iabMetadata)
    const age = (await options.age?.(request)) ?? undefined
    const command = {
      decisions: body.decisions,
      source: body.source ?? sources[0] ?? "banner",
      tenant: who.tenant,
      subject: who.subject,
      ...(who.jurisdiction !== null ? { jurisdiction: who.jurisdiction } : {}),
      ...(age !== undefined ? { age } : {}),
      // A browser's keys live in their own namespace, so none can claim a key a webhook or import uses.
      ...(typeof body.idempotencyKey === "string" ? { idempotencyKey: `web:${body.idempotencyKey}` } : {}),
      // Evidence that is not an object is passed through untouched so validation reports it.
      evidence:
        isPlainObject(withIab) || withIab === undefined
          ? {
              locale: preferredLocale(request.headers.get("accept-language")),
              ...withIab,
              ...options.evidence?.(request),
              userAgent: request.headers.get("user-agent")?.slice(0, 512) ?? undefined,
            }
          : withIab,
    }
    // Checked before anything is written for the request (the login link, GPC).
    const checked = Command.validateRecord(policy, command, Date.now())
    if (!checked.ok) throw checked.error
    await settle()
    const result = await kit.record(command as never)
    await linkGaClientId(request, who.tenant, who.subject)
    return json(result.duplicate ? 200 : 201, {
      commandId: result.commandId,
      duplicate: result.duplicate,
      receipt: result.receipt,
      decisions: choices(result.decisions),
    })
  })

  const state = subjectRoute("read", async (request, who, settle) => {
    await settle()
    const { tenant, subject, customer } = who
    const decisions = withGpc(request, who, await kit.decisions(tenant, subject))
    let iab = {}
    if (options.iab) {
      const jurisdiction = who.jurisdiction
      try {
        iab = await iabStateFields(options.iab, {
          policy,
          decisions,
          jurisdiction,
          gpc: request.headers.get("sec-gpc")?.trim() === "1",
          decide: (purpose) =>
            kit.decide(tenant, subject, purpose, jurisdiction ? { jurisdiction } : undefined),
          dates: datesOf(await kit.state(tenant, subject)),
        })
      } catch (error) {
        // An unreachable vendor list must not take the banner down: the decisions still answer.
        options.onError?.(error, request)
      }
    }
    return json(200, {
      identified: customer !== null,
      decisions: choices(decisions),
      consentMode: consentModeOf(decisions),
      ...iab,
    })
  })

  const preferences = subjectRoute("read", async (request, who, settle) => {
    await settle()
    const { tenant, subject, customer } = who
    const decisions = new Map(
      withGpc(request, who, await kit.decisions(tenant, subject)).map((d) => [d.purpose, d]),
    )
    const requested = new URL(request.url).searchParams.get("locale")
    const locale =
      requested === "th" || requested === "en"
        ? requested
        : preferredLocale(request.headers.get("accept-language"))
    const now = Date.now()
    // Per channel of each purpose: a message on it may be sent (an unfollow closes LINE alone).
    const channelChoices = new Map<string, Array<{ channel: string; allowed: boolean; reason: string }>>()
    for (const id of policy.purposeIds) {
      const channels = policy.purposes.get(id)!.channels
      if (channels.length === 0) continue
      const list: Array<{ channel: string; allowed: boolean; reason: string }> = []
      for (const channel of channels) {
        const d = decisions.get(id)!.allowed
          ? await kit.decide(tenant, subject, id, { channel })
          : decisions.get(id)!
        list.push({ channel, allowed: d.allowed, reason: d.reason })
      }
      channelChoices.set(id, list)
    }
    return json(200, {
      locale,
      identified: customer !== null,
      controller: {
        name: policy.controller.name,
        email: policy.controller.email,
        url: policy.controller.url ?? null,
      },
      policyUrl: policy.policyUrl,
      purposes: policy.purposeIds.map((id) => {
        const p = policy.purposes.get(id)!
        const notice = Policy.currentVersion(p, now) ?? p.versions[0]!
        const d = decisions.get(id)!
        return {
          id,
          parent: p.ancestors[0] ?? null,
          title: p.title,
          description: p.description ?? null,
          lawfulBasis: p.lawfulBasis,
          // Only consent (and objection to legitimate interest) is the subject's choice.
          required: p.lawfulBasis !== "consent" && p.lawfulBasis !== "legitimate_interest",
          noticeVersion: notice.version,
          textHash: notice.textHash,
          text: notice.text ?? null,
          channels: p.channels,
          trackerCategories: p.trackerCategories,
          choice: { allowed: d.allowed, reason: d.reason, noticeVersion: d.noticeVersion },
          ...(channelChoices.has(id) ? { channelChoices: channelChoices.get(id) } : {}),
        }
      }),
      consentMode: consentModeOf([...decisions.values()]),
    })
  })

  const events = subjectRoute("write", async (request, who, settle) => {
    const { tenant, subject } = who
    const body = objectBody(await jsonOf(request))
    const issues: Array<WireIssue> = []
    const { purpose, name, properties } = body
    for (const key of Object.keys(body)) {
      if (key !== "purpose" && key !== "name" && key !== "properties") {
        issues.push({ code: "MALFORMED", path: [key], message: "is not a field of an event" })
      }
    }
    if (typeof purpose !== "string")
      issues.push({ code: "MALFORMED", path: ["purpose"], message: "must be a purpose id" })
    else if (!policy.purposes.has(purpose)) {
      issues.push({
        code: "UNKNOWN_PURPOSE",
        path: ["purpose"],
        message: `"${purpose}" is not a purpose of this policy`,
      })
    }
    if (typeof name !== "string" || name.length === 0 || name.length > 128) {
      issues.push({ code: "MALFORMED", path: ["name"], message: "must be a string of 1 to 128 characters" })
    }
    if (
      properties !== undefined &&
      (typeof properties !== "object" || properties === null || Array.isArray(properties))
    ) {
      issues.push({ code: "MALFORMED", path: ["properties"], message: "must be an object" })
    }
    if (issues.length > 0) return invalid(issues)
    await settle()
    const decision = await kit.gate.track({ tenant, subject, purpose: purpose as string })
    if (!decision.allowed) return json(200, { accepted: false, reason: decision.reason })
    await linkGaClientId(request, tenant, subject)
    await options.collect!({
      tenant,
      subject,
      purpose: purpose as string,
      name: name as string,
      properties: (properties as Record<string, unknown> | undefined) ?? {},
    })
    return json(202, { accepted: true })
  })

  return [
    compile("POST", "/record", (request) => record(request)),
    compile("GET", "/state", (request) => state(request)),
    compile("GET", "/preferences", (request) => preferences(request)),
    ...(options.collect ? [compile("POST", "/events", (request) => events(request))] : []),
  ]
}
