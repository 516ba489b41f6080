/**
 * The demo's secrets, made on first start: the kit's secret and the admin password, random and
 * kept in `secrets.json` beside the database (mode 0600, ignored by git), so restarts keep sessions
 * and pseudonyms stable. An in-memory shop gets fresh ones each start.
 */
import { randomBytes } from "node:crypto"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"

/** What the shop needs to keep secret. */
export interface ShopSecrets {
  readonly secret: string
  readonly adminPassword: string
}

const fresh = (): ShopSecrets => ({
  secret: randomBytes(48).toString("base64url"),
  adminPassword: randomBytes(12).toString("base64url"),
})

/** The shop's secrets for a database file, made and saved on first use. */
export const localSecrets = (database: string): ShopSecrets => {
  if (database === ":memory:") return fresh()
  const file = join(dirname(resolve(database)), "secrets.json")
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, "utf8")) as Partial<ShopSecrets>
    if (typeof saved.secret === "string" && typeof saved.adminPassword === "string") {
      return { secret: saved.secret, adminPassword: saved.adminPassword }
    }
  }
  const made = fresh()
  writeFileSync(file, `${JSON.stringify(made, null, 2)}\n`, { mode: 0o600 })
  return made
}
