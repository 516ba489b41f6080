/**
 * The shop's own tables, beside consentkit's in the same SQLite file: customers (the addresses the
 * messengers resolve), the launch anchor the policy's notice dates count from, and the erasure
 * requests customers made (consentkit keeps the proof; the shop keeps the reference it showed).
 */
import type { ConsentKit } from "@consentkit/core"
import { type Kysely, sql } from "kysely"

/** A customer as the shop knows them. */
export interface Customer {
  readonly id: string
  readonly name: string
  readonly email: string | null
  readonly lineUserId: string | null
  readonly city: string
  readonly joinedAt: Date
  readonly erased: boolean
}

/** An erasure request made through the shop, with the receipt consentkit gave for it. */
export interface ErasureRow {
  readonly id: string
  /** The reference shown to the customer. */
  readonly reference: string
  readonly requestedAt: Date
  readonly requestedBy: string
  readonly receipt: ConsentKit.ErasureReceipt
}

const toCustomer = (row: any): Customer => ({
  id: row.id,
  name: row.name,
  email: row.email,
  lineUserId: row.line_user_id,
  city: row.city,
  joinedAt: new Date(Number(row.joined_at)),
  erased: Number(row.erased) === 1,
})

const toErasure = (r: any): ErasureRow => {
  const receipt = JSON.parse(r.receipt)
  return {
    id: r.id,
    reference: r.reference,
    requestedAt: new Date(Number(r.requested_at)),
    requestedBy: r.requested_by,
    receipt: { ...receipt, requestedAt: new Date(receipt.requestedAt) },
  }
}

/** The shop's tables over the Kysely instance consentkit's store uses. */
export const shopTables = (db: Kysely<any>) => ({
  /** Creates the tables when missing (the shop's own tiny migration). */
  migrate: async () => {
    await db.schema
      .createTable("shop_customer")
      .ifNotExists()
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("email", "text")
      .addColumn("line_user_id", "text")
      .addColumn("city", "text", (c) => c.notNull())
      .addColumn("joined_at", "integer", (c) => c.notNull())
      .addColumn("erased", "integer", (c) => c.notNull().defaultTo(0))
      .execute()
    await db.schema
      .createIndex("shop_customer_email")
      .ifNotExists()
      .on("shop_customer")
      .column("email")
      .execute()
    await db.schema
      .createTable("shop_meta")
      .ifNotExists()
      .addColumn("key", "text", (c) => c.primaryKey())
      .addColumn("value", "text", (c) => c.notNull())
      .execute()
    await db.schema
      .createTable("shop_erasure")
      .ifNotExists()
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("reference", "text", (c) => c.notNull())
      .addColumn("requested_at", "integer", (c) => c.notNull())
      .addColumn("requested_by", "text", (c) => c.notNull())
      .addColumn("receipt", "text", (c) => c.notNull())
      .execute()
  },

  /** A value of the shop's settings, written on first read when missing. */
  meta: async (key: string, initial: () => string): Promise<string> => {
    const row = await db.selectFrom("shop_meta").select("value").where("key", "=", key).executeTakeFirst()
    if (row) return row.value as string
    const value = initial()
    await db
      .insertInto("shop_meta")
      .values({ key, value })
      .onConflict((oc) => oc.doNothing())
      .execute()
    return value
  },

  countCustomers: async (): Promise<number> => {
    const row = await db
      .selectFrom("shop_customer")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow()
    return Number(row.n)
  },

  insertCustomers: async (customers: ReadonlyArray<Customer>): Promise<void> => {
    for (let i = 0; i < customers.length; i += 500) {
      await db
        .insertInto("shop_customer")
        .values(
          customers.slice(i, i + 500).map((c) => ({
            id: c.id,
            name: c.name,
            email: c.email,
            line_user_id: c.lineUserId,
            city: c.city,
            joined_at: c.joinedAt.getTime(),
            erased: c.erased ? 1 : 0,
          })),
        )
        .execute()
    }
  },

  customer: async (id: string): Promise<Customer | null> => {
    const row = await db.selectFrom("shop_customer").selectAll().where("id", "=", id).executeTakeFirst()
    return row ? toCustomer(row) : null
  },

  customerByEmail: async (email: string): Promise<Customer | null> => {
    const row = await db
      .selectFrom("shop_customer")
      .selectAll()
      .where("email", "=", email.trim().toLowerCase())
      .where("erased", "=", 0)
      .executeTakeFirst()
    return row ? toCustomer(row) : null
  },

  /** Customers whose name, email or id contains `text` (the admin's search). */
  search: async (text: string, limit = 20): Promise<Array<Customer>> => {
    const like = `%${text.trim().toLowerCase()}%`
    const rows = await db
      .selectFrom("shop_customer")
      .selectAll()
      .where((eb) =>
        eb.or([eb("id", "like", like), eb(sql`lower(name)`, "like", like), eb("email", "like", like)]),
      )
      .orderBy("id")
      .limit(limit)
      .execute()
    return rows.map(toCustomer)
  },

  /** Every LINE user id (the local LINE server's friends). */
  lineUserIds: async (): Promise<Array<string>> => {
    const rows = await db
      .selectFrom("shop_customer")
      .select("line_user_id")
      .where("line_user_id", "is not", null)
      .execute()
    return rows.map((r) => r.line_user_id as string)
  },

  /** Erasure: the shop forgets the customer's contact details, keeping an anonymous row. */
  forgetEmail: async (id: string): Promise<void> => {
    await db
      .updateTable("shop_customer")
      .set({ email: null, name: "(erased)", erased: 1 })
      .where("id", "=", id)
      .execute()
  },
  forgetLine: async (id: string): Promise<void> => {
    await db
      .updateTable("shop_customer")
      .set({ line_user_id: null, name: "(erased)", erased: 1 })
      .where("id", "=", id)
      .execute()
  },

  addErasure: async (row: ErasureRow): Promise<void> => {
    await db
      .insertInto("shop_erasure")
      .values({
        id: row.id,
        reference: row.reference,
        requested_at: row.requestedAt.getTime(),
        requested_by: row.requestedBy,
        receipt: JSON.stringify(row.receipt),
      })
      .execute()
  },

  erasures: async (limit = 20): Promise<Array<ErasureRow>> => {
    const rows = await db
      .selectFrom("shop_erasure")
      .selectAll()
      .orderBy("requested_at", "desc")
      .limit(limit)
      .execute()
    return rows.map(toErasure)
  },

  erasure: async (id: string): Promise<ErasureRow | null> => {
    const row = await db.selectFrom("shop_erasure").selectAll().where("id", "=", id).executeTakeFirst()
    return row ? toErasure(row) : null
  },

  /** Ids of customers with an email address, in id order (the newsletter's segment). */
  customerIdsWithEmail: async (): Promise<Array<string>> => {
    const rows = await db
      .selectFrom("shop_customer")
      .select("id")
      .where("email", "is not", null)
      .orderBy("id")
      .execute()
    return rows.map((r) => r.id as string)
  },
})

/** The shop's tables. */
export type ShopTables = ReturnType<typeof shopTables>
