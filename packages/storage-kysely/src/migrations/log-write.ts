import type { ConsentStore } from "@consentkit/core"
import type { Kysely } from "kysely"
import type { Tables } from "../schema.js"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")

/** The JSON the `range` column keeps: hex hashes, largest subtree first. */
export const rangeJson = (range: { readonly hashes: ReadonlyArray<Uint8Array> }): string =>
  JSON.stringify(range.hashes.map(hex))

const CHUNK = 200

/** Writes one append's entries, nodes and new head (`fresh`: the head row does not exist yet). */
export const writeAppend = async (
  conn: Kysely<Tables>,
  tenant: string,
  append: ConsentStore.LogAppend,
  fresh: boolean,
): Promise<void> => {
  for (let i = 0; i < append.entries.length; i += CHUNK) {
    await conn
      .insertInto("log_entry")
      .values(
        append.entries.slice(i, i + CHUNK).map((e) => ({
          tenant,
          idx: e.index,
          kind: e.kind,
          ref: e.ref,
          entry: e.entry,
          leaf_hash: e.leafHash,
        })),
      )
      .execute()
  }
  for (let i = 0; i < append.nodes.length; i += CHUNK) {
    await conn
      .insertInto("log_node")
      .values(
        append.nodes
          .slice(i, i + CHUNK)
          .map((n) => ({ tenant, level: n.level, idx: n.index, hash: hex(n.hash) })),
      )
      .execute()
  }
  const head = { size: append.range.size, range: rangeJson(append.range) }
  if (fresh)
    await conn
      .insertInto("log_head")
      .values({ tenant, ...head })
      .execute()
  else await conn.updateTable("log_head").set(head).where("tenant", "=", tenant).execute()
}
