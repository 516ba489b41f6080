/**
 * The store as an Effect layer providing core's `ConsentStore`, like `@effect/sql-pg`'s
 * `PgClient.layer` provides `SqlClient`: it opens (and migrates) on build and closes with its scope.
 *
 * @since 0.1.0
 */
import type { AnyKysely } from "./internal/kysely.js"
import { ConsentStore, StoreError } from "@consentkit/core"
import { Effect, Layer } from "effect"
import type { Notifications } from "./internal/notify.js"
import { migrate } from "./migrate.js"
import { type OpenOptions, openStore } from "./open.js"
import type { SqlDialect } from "./schema.js"
import { kyselyStore } from "./store/index.js"

/** What the layer opens: a URL (it owns the connection) or an existing Kysely instance (the caller does). */
export type LayerConfig = (
  | ({ readonly url: string } & OpenOptions)
  | {
      readonly db: AnyKysely
      readonly dialect: SqlDialect
      readonly notifications?: Notifications
      readonly capabilities?: Partial<ConsentStore.StoreCapabilities>
    }
) & {
  readonly tablePrefix?: string
  /** Run migrations when the layer is built (default true). */
  readonly migrate?: boolean
}

const unavailable = (doing: string) => (cause: unknown) =>
  new StoreError({
    code: "UNAVAILABLE",
    isRetryable: true,
    message: `could not ${doing}: ${String((cause as Error)?.message ?? cause)}`,
    cause,
  })

/** A layer providing `ConsentStore` over the configured database. */
export const layer = (config: LayerConfig): Layer.Layer<ConsentStore.ConsentStore, StoreError> =>
  Layer.effect(
    ConsentStore.ConsentStore,
    "url" in config
      ? Effect.acquireRelease(
          Effect.tryPromise({
            try: () => openStore(config.url, config),
            catch: unavailable("open the consent store"),
          }),
          (opened) => Effect.promise(() => opened.close()),
        ).pipe(Effect.map((opened) => opened.store))
      : Effect.acquireRelease(
          Effect.tryPromise({
            try: async () => {
              if (config.migrate !== false)
                await migrate(config.db, { tablePrefix: config.tablePrefix, dialect: config.dialect })
              return kyselyStore(config)
            },
            catch: unavailable("migrate the consent store"),
          }),
          (store) => Effect.promise(() => store.close()),
        ),
  )
