/**
 * @consentkit/adapter-cdp-sql: the brand's own customer-data tables (profiles, events, ...) in its
 * own database, reached through Kysely and described by configuration. Writes pass the consent
 * gate (a table's purpose gates the row, a column's purpose gates that column), a withdrawal stops
 * them at once, and `subject.erase` deletes or anonymises the subject's rows in one transaction.
 *
 * @since 0.1.0
 */
import type { AdapterDescriptor, Decision, Gatekeeper } from "@consentkit/core"
import { defineTracker, type GateOptions, type Stats } from "@consentkit/tracker-kit"
import type { Kysely } from "kysely"

export type { Stats } from "@consentkit/tracker-kit"

/** One customer-data table. */
export interface TableConfig {
  /** The table name (schema-qualified names like `cdp.events` work where the database has schemas). */
  readonly table: string
  /** The column holding the consentkit subject id. */
  readonly subjectColumn: string
  /** The column holding the tenant, when the table holds several brands; writes fill it, erasure filters by it. */
  readonly tenantColumn?: string
  /** The purpose every row serves: a row is written only when the subject allows it. */
  readonly purpose?: string
  /** Purposes of single columns: a refused column is left out of the write, the rest is written. */
  readonly columns?: Readonly<Record<string, string>>
  /**
   * What erasure does to the subject's rows: delete them, or overwrite columns (the subject column
   * becomes the subject's pseudonym unless the map names it).
   */
  readonly erase: "delete" | { readonly anonymise: Readonly<Record<string, unknown>> }
}

/** Options of `cdpSql`. */
export interface CdpSqlOptions {
  /** The brand's database. */
  // biome-ignore lint/suspicious/noExplicitAny: the brand's own schema, unknown to consentkit; tables are named at runtime (Kysely's documented idiom).
  readonly db: Kysely<any>
  readonly tables: ReadonlyArray<TableConfig>
  /** Adapter name (default `cdp-sql`). */
  readonly name?: string
  /** Alias kinds whose values are also subject ids in these tables (default every alias). */
  readonly aliasKinds?: ReadonlyArray<string>
}

/** A column (or the whole row, `column: null`) the gate refused, and why. */
export interface Refusal {
  readonly column: string | null
  readonly purpose: string
  readonly reason: Decision.Reason | "stopped"
}

/** What a gated write did. */
export interface WriteResult {
  /** Whether anything was written. */
  readonly written: boolean
  /** Rows inserted or updated. */
  readonly rows: number
  readonly refused: ReadonlyArray<Refusal>
}

/** The gated tables. */
export interface CdpSql {
  /** Inserts a row for its subject (read from the subject column) if consent allows. */
  readonly insert: (
    tenant: string,
    table: string,
    row: Readonly<Record<string, unknown>>,
  ) => Promise<WriteResult>
  /** Updates a subject's rows with the columns consent allows. */
  readonly update: (
    tenant: string,
    table: string,
    subject: string,
    set: Readonly<Record<string, unknown>>,
  ) => Promise<WriteResult>
  /** Writes and columns passed and refused. */
  readonly stats: () => Stats
}

const checkPurposes = (name: string, tables: ReadonlyArray<TableConfig>, kit: Gatekeeper.Gatekeeper) => {
  for (const t of tables) {
    for (const purpose of [t.purpose, ...Object.values(t.columns ?? {})]) {
      if (purpose !== undefined && !kit.policy.purposes.has(purpose)) {
        throw new Error(
          `${name}: table "${t.table}" names purpose "${purpose}", which the policy does not define`,
        )
      }
    }
  }
}

/**
 * Puts customer-data tables behind the consent gate.
 *
 * @example
 * ```ts
 * import { cdpSql } from "@consentkit/adapter-cdp-sql"
 *
 * const cdp = cdpSql({
 *   db, // a Kysely instance on the brand's database
 *   tables: [
 *     { table: "events", subjectColumn: "customer_id", purpose: "analytics", erase: "delete" },
 *     { table: "profiles", subjectColumn: "customer_id", columns: { favourite_tea: "personalisation" }, erase: { anonymise: { email: null, favourite_tea: null } } },
 *   ],
 * })
 * const kit = createConsentKit({ policy, store, secret, adapters: [cdp] })
 * await kit.adapter(cdp).insert("siamtea", "events", { customer_id: "c-1", name: "viewed", at: new Date().toISOString() })
 * ```
 */
export const cdpSql = (options: CdpSqlOptions): AdapterDescriptor<CdpSql> => {
  const name = options.name ?? "cdp-sql"
  const db = options.db
  const tables = new Map<string, TableConfig>()
  for (const t of options.tables) {
    if (tables.has(t.table)) throw new Error(`${name}: table "${t.table}" is configured twice`)
    tables.set(t.table, t)
  }

  const gateOptions: Omit<GateOptions, "kit"> = {
    name,
    role: "cdp",
    aliasKinds: options.aliasKinds,
    // Table purposes need not govern a tracker category, so the stop list also follows consent.changed.
    followChanges: true,
    erase: async ({ tenant, identifiers, intent }) => {
      await db.transaction().execute(async (trx) => {
        for (const t of tables.values()) {
          if (t.erase === "delete") {
            await trx
              .deleteFrom(t.table)
              .where(t.subjectColumn, "in", identifiers)
              .$if(t.tenantColumn !== undefined, (q) => q.where(t.tenantColumn!, "=", tenant))
              .execute()
          } else {
            await trx
              .updateTable(t.table)
              .set({
                [t.subjectColumn]: intent.pseudonym ?? `erased:${intent.erasureId}`,
                ...t.erase.anonymise,
              })
              .where(t.subjectColumn, "in", identifiers)
              .$if(t.tenantColumn !== undefined, (q) => q.where(t.tenantColumn!, "=", tenant))
              .execute()
          }
        }
      })
    },
  }

  // Built once by the kit (first delivery or kit.adapter): checks every configured purpose exists.
  return defineTracker(gateOptions, (gate, kit): CdpSql => {
    checkPurposes(name, options.tables, kit)
    const configOf = (table: string): TableConfig => {
      const config = tables.get(table)
      if (!config)
        throw new Error(
          `${name}: table "${table}" is not configured (configured: ${[...tables.keys()].join(", ")})`,
        )
      return config
    }

    /** Applies the table's and the columns' purposes; what survives is written. */
    const admit = async (
      tenant: string,
      subject: string,
      config: TableConfig,
      values: Readonly<Record<string, unknown>>,
    ) => {
      const refused: Array<Refusal> = []
      if (config.purpose !== undefined) {
        const verdict = await gate.check({ tenant, subject, purpose: config.purpose })
        if (!verdict.allowed)
          return { kept: null, refused: [{ column: null, purpose: config.purpose, reason: verdict.reason }] }
      }
      const verdicts = new Map<string, Awaited<ReturnType<typeof gate.check>>>()
      const kept: Record<string, unknown> = {}
      for (const [column, value] of Object.entries(values)) {
        const purpose = config.columns?.[column]
        if (purpose === undefined) {
          kept[column] = value
          continue
        }
        let verdict = verdicts.get(purpose)
        if (!verdict) {
          verdict = await gate.check({ tenant, subject, purpose })
          verdicts.set(purpose, verdict)
        }
        if (verdict.allowed) kept[column] = value
        else refused.push({ column, purpose, reason: verdict.reason })
      }
      const content = Object.keys(kept).filter((c) => c !== config.subjectColumn && c !== config.tenantColumn)
      return { kept: content.length > 0 ? kept : null, refused }
    }

    return {
      insert: async (tenant, table, row) => {
        const config = configOf(table)
        const subject = row[config.subjectColumn]
        if (typeof subject !== "string" || subject.length === 0) {
          throw new TypeError(
            `${name}: a row of "${table}" needs its subject id in "${config.subjectColumn}"`,
          )
        }
        const { kept, refused } = await admit(tenant, subject, config, row)
        if (!kept) return { written: false, rows: 0, refused }
        if (config.tenantColumn) kept[config.tenantColumn] = tenant
        await db.insertInto(table).values(kept).execute()
        gate.sent()
        return { written: true, rows: 1, refused }
      },
      update: async (tenant, table, subject, set) => {
        const config = configOf(table)
        const { kept, refused } = await admit(tenant, subject, config, set)
        if (!kept) return { written: false, rows: 0, refused }
        const result = await db
          .updateTable(table)
          .set(kept)
          .where(config.subjectColumn, "=", subject)
          .$if(config.tenantColumn !== undefined, (q) => q.where(config.tenantColumn!, "=", tenant))
          .executeTakeFirst()
        const rows = Number(result.numUpdatedRows)
        if (rows > 0) gate.sent()
        return { written: rows > 0, rows, refused }
      },
      stats: gate.stats,
    }
  })
}
