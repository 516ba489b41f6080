import type { SqlDialect } from "../../schema.js"
import type { StoreDialect } from "../dialect.js"
import { mysql } from "./mysql.js"
import { postgres } from "./postgres.js"
import { sqlite } from "./sqlite.js"

/** The store's dialect object for each SQL family. */
export const storeDialects: Readonly<Record<SqlDialect, StoreDialect>> = { sqlite, postgres, mysql }

export { mysql, postgres, sqlite }
