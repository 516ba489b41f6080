import Database from "better-sqlite3"
import { Kysely, PostgresDialect, SqliteDialect } from "kysely"
import pg from "pg"

/** A database the suite runs against. */
export interface DialectCase {
  readonly name: "sqlite" | "postgres"
  readonly connect: () => Kysely<any>
}

const pgUrl = process.env.CONSENTKIT_PG_URL?.trim() || undefined

/** SQLite always (in memory); PostgreSQL when CONSENTKIT_PG_URL is set. `DIALECTS=sqlite` narrows the list. */
export const dialects = (): ReadonlyArray<DialectCase> => {
  const requested = process.env.DIALECTS?.split(",").map((d) => d.trim())
  const wanted = (name: DialectCase["name"]) => !requested || requested.includes(name)
  const cases: Array<DialectCase> = []
  if (wanted("sqlite")) {
    cases.push({
      name: "sqlite",
      connect: () => new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(":memory:") }) }),
    })
  }
  if (pgUrl && wanted("postgres")) {
    cases.push({
      name: "postgres",
      connect: () =>
        new Kysely<any>({
          dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: pgUrl, max: 2 }) }),
        }),
    })
  }
  return cases
}

/** The PostgreSQL URL when set. */
export const postgresUrl = pgUrl
