/**
 * Seed data: a few thousand customers with a year of consent history, so the dashboard's charts
 * mean something. Deterministic (a seeded PRNG), recorded through storage-kysely's `importConsents` with each
 * decision's original time, notice version and collection point, on a kit without adapters: history
 * is not news for the trackers and messengers, so it fills no outbox.
 */
import { createHash } from "node:crypto"
import { type ConsentStore, createConsentKit, type Import, importConsents } from "@consentkit/core"
import type { Customer, ShopTables } from "./db.js"
import { noticeDates, type ShopPolicy, TENANT } from "./policy.js"

const DAY = 86_400_000

/** Mulberry32: small, fast and good enough for demo data. */
const prng = (seed: number) => () => {
  seed |= 0
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const FIRST = [
  "Somchai",
  "Malee",
  "Somsak",
  "Siriporn",
  "Nattapong",
  "Kanya",
  "Pim",
  "Arthit",
  "Chayanin",
  "Kittisak",
  "Wipada",
  "Thanawat",
  "Ploy",
  "Anan",
  "Suda",
  "Preecha",
  "Ratana",
  "Narong",
  "Jiraporn",
  "Tanakorn",
  "Nicha",
  "Pakorn",
  "Sasithorn",
  "Worawit",
  "Aree",
  "Boonsong",
  "Chalerm",
  "Duangjai",
  "Ekkachai",
  "Fah",
]
const LAST = [
  "Jaidee",
  "Srisuk",
  "Wongsawat",
  "Chaiyaporn",
  "Rattanakul",
  "Suwannarat",
  "Boonmee",
  "Saetang",
  "Phromma",
  "Kaewkla",
  "Thongdee",
  "Chantarasri",
  "Sukprasert",
  "Meesuk",
  "Intharaphong",
  "Ruangrit",
]
const CITIES = [
  "Bangkok",
  "Chiang Mai",
  "Khon Kaen",
  "Phuket",
  "Hat Yai",
  "Nakhon Ratchasima",
  "Udon Thani",
  "Chiang Rai",
]

/** The demo accounts the README and the tests sign in with (password `siamtea`). */
export const DEMO_CUSTOMERS = [
  { id: "cust-00001", name: "Somchai Jaidee", email: "somchai@example.co.th" },
  { id: "cust-00002", name: "Malee Srisuk", email: "malee@example.co.th" },
  { id: "cust-00003", name: "Kanya Boonmee", email: "kanya@example.co.th" },
] as const

/** A LINE user id (`U` + 32 hex digits) for a customer id. */
export const lineUserIdOf = (customerId: string) =>
  `U${createHash("sha256").update(`line:${customerId}`).digest("hex").slice(0, 32)}`

/** What seeding did. */
export interface SeedSummary {
  readonly customers: number
  readonly decisions: number
}

/** Customers and their consent history, relative to `anchor`; the first three are the demo accounts. */
export const seedData = (count: number, anchor: Date, random = prng(2562)) => {
  const { v1, emailV2 } = noticeDates(anchor)
  const now = anchor.getTime()
  const redesign = now - 200 * DAY
  const customers: Array<Customer> = []
  const rows: Array<Import.ImportRow> = []
  const pick = <A>(list: ReadonlyArray<A>) => list[Math.floor(random() * list.length)]!

  for (let i = 1; i <= count; i++) {
    const id = `cust-${String(i).padStart(5, "0")}`
    const demo = DEMO_CUSTOMERS[i - 1]
    const first = pick(FIRST)
    const last = pick(LAST)
    // Sign-ups grow over the year: more recent days are likelier.
    const joined = demo
      ? now - (30 + i * 5) * DAY
      : Math.max(v1.getTime() + DAY, now - 365 * DAY * Math.sqrt(random()))
    const joinedAt = Math.floor(joined / 60_000) * 60_000
    customers.push({
      id,
      name: demo?.name ?? `${first} ${last}`,
      email: demo?.email ?? `${first}.${last}.${i}@example.co.th`.toLowerCase(),
      lineUserId: random() < 0.7 || demo ? lineUserIdOf(id) : null,
      city: pick(CITIES),
      joinedAt: new Date(joinedAt),
      erased: false,
    })
    const locale = random() < 0.8 ? "th-TH" : "en-US"
    const row = (
      at: number,
      source: string,
      purpose: string,
      action: Import.ImportRow["action"],
      noticeVersion?: number,
    ): void => {
      if (at > now - 60_000) return
      rows.push({
        tenant: TENANT,
        subject: id,
        purpose,
        action,
        ...(noticeVersion !== undefined ? { noticeVersion } : {}),
        occurredAt: new Date(at).toISOString(),
        source,
        jurisdiction: "TH",
        evidence: { locale, metadata: { seeded: true } },
      })
    }
    const emailVersion = (at: number) => (at >= emailV2.getTime() ? 2 : 1)

    // The first answer, on the banner at sign-up; the redesigned banner (200 days ago) explains analytics better.
    const yes = (p: number) => (demo ? true : random() < p)
    const analytics = yes(joinedAt >= redesign ? 0.74 : 0.52)
    const advertising = yes(0.31)
    const marketing = yes(0.58)
    const email = marketing && yes(0.82)
    const line = marketing && yes(0.64)
    const source = random() < 0.7 ? "banner" : "signup-form"
    row(joinedAt, source, "analytics", analytics ? "grant" : "deny", 1)
    row(joinedAt, source, "advertising", advertising ? "grant" : "deny", 1)
    row(joinedAt, source, "marketing", marketing ? "grant" : "deny", 1)
    if (marketing) {
      row(joinedAt, source, "marketing.email", email ? "grant" : "deny", emailVersion(joinedAt))
      row(joinedAt, source, "marketing.line", line ? "grant" : "deny", 1)
    }
    if (demo) continue

    // What happened later: re-consent under the new email notice, withdrawals, unfollows, changes of mind.
    let emailGranted = email
    if (email && joinedAt < emailV2.getTime()) {
      const r = random()
      const at = emailV2.getTime() + random() * 100 * DAY
      if (r < 0.48) row(at, "reconsent-email", "marketing.email", "grant", 2)
      else if (r < 0.6) {
        row(at, "reconsent-email", "marketing.email", "deny", 2)
        emailGranted = false
      }
    }
    if (emailGranted && random() < 0.09)
      row(joinedAt + (5 + random() * 200) * DAY, "list-unsubscribe", "marketing.email", "withdraw")
    if (line && random() < 0.05)
      row(joinedAt + (3 + random() * 150) * DAY, "line-unfollow", "marketing.line", "withdraw")
    if (analytics && random() < 0.06)
      row(joinedAt + (1 + random() * 120) * DAY, "preference-center", "analytics", "withdraw")
    if (!analytics && random() < 0.12)
      row(joinedAt + (1 + random() * 90) * DAY, "preference-center", "analytics", "grant", 1)
    if (marketing && random() < 0.04)
      row(joinedAt + (20 + random() * 200) * DAY, "preference-center", "marketing", "withdraw")
  }
  // importConsents records a subject's rows in the order given: each subject's rows go in time order.
  rows.sort((a, b) =>
    a.subject === b.subject
      ? String(a.occurredAt) < String(b.occurredAt)
        ? -1
        : String(a.occurredAt) > String(b.occurredAt)
          ? 1
          : 0
      : a.subject < b.subject
        ? -1
        : 1,
  )
  return { customers, rows }
}

/** Seeds an empty shop: customers in the shop's table, their history in consentkit's ledger. */
export const seed = async (options: {
  readonly store: ConsentStore.ConsentStoreShape
  readonly tables: ShopTables
  readonly policy: ShopPolicy
  readonly anchor: Date
  readonly customers: number
  readonly secret: string
}): Promise<SeedSummary> => {
  const { customers, rows } = seedData(options.customers, options.anchor)
  await options.tables.insertCustomers(customers)
  // History only: no adapters, no dispatcher, so nothing is enqueued for delivery. (Typed by
  // `string`: importConsents takes `Client<string>`, which a policy-typed client is not assignable to.)
  const kit = createConsentKit<string>({
    policy: options.policy,
    store: options.store,
    secret: options.secret,
    dispatcher: { autoStart: false },
  })
  try {
    // Rows of one subject made at one time through one collection point become one command (one receipt).
    const summary = await importConsents(kit, rows, { batchSize: 5_000, deriveIdempotencyKeys: false })
    if (summary.rejected.length > 0) {
      const first = summary.rejected[0]!
      throw new Error(
        `seeding rejected ${summary.rejected.length} rows; the first, row ${first.line}: ${first.reason}`,
      )
    }
    return { customers: customers.length, decisions: summary.imported }
  } finally {
    await kit.close()
  }
}
