import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** A database the suites run against. */
export interface DialectCase {
  readonly name: "sqlite" | "pglite" | "postgres" | "mysql"
  /** A URL for a fresh database (SQLite, PGlite) or the shared server (each test uses its own tenant). */
  readonly url: () => string
}

const ALL = ["sqlite", "pglite", "postgres", "mysql"] as const

/** A new SQLite file in its own temporary folder. */
export const tempSqlite = (name = "store"): string =>
  join(mkdtempSync(join(tmpdir(), "consentkit-")), `${name}.sqlite`)

const serverUrl = (variable: string) => process.env[variable]?.trim() || undefined

/**
 * The dialects to run: SQLite and PGlite always, PostgreSQL and MySQL when their URL is set;
 * `DIALECTS=sqlite,pglite` narrows the list. Naming a server dialect without its URL is an error,
 * never a silent skip.
 */
export const dialects = (): ReadonlyArray<DialectCase> => {
  const requested = process.env.DIALECTS?.split(",")
    .map((d) => d.trim())
    .filter(Boolean)
  for (const name of requested ?? []) {
    if (!(ALL as ReadonlyArray<string>).includes(name))
      throw new Error(`DIALECTS: unknown dialect "${name}" (known: ${ALL.join(", ")})`)
  }
  const pg = serverUrl("CONSENTKIT_PG_URL")
  const mysql = serverUrl("CONSENTKIT_MYSQL_URL")
  const wanted = (name: DialectCase["name"]) =>
    requested
      ? requested.includes(name)
      : name === "sqlite" ||
        name === "pglite" ||
        (name === "postgres" ? !!pg : name === "mysql" ? !!mysql : false)
  const cases: Array<DialectCase> = []
  if (wanted("sqlite")) cases.push({ name: "sqlite", url: () => tempSqlite() })
  if (wanted("pglite")) cases.push({ name: "pglite", url: () => "pglite://memory" })
  if (wanted("postgres")) {
    if (!pg) throw new Error("DIALECTS names postgres but CONSENTKIT_PG_URL is not set")
    cases.push({ name: "postgres", url: () => pg })
  }
  if (wanted("mysql")) {
    if (!mysql) throw new Error("DIALECTS names mysql but CONSENTKIT_MYSQL_URL is not set")
    cases.push({ name: "mysql", url: () => mysql })
  }
  return cases
}

/** The PostgreSQL server URL, when set and not narrowed away by DIALECTS. */
export const postgresUrl = (): string | undefined =>
  dialects()
    .find((d) => d.name === "postgres")
    ?.url()
