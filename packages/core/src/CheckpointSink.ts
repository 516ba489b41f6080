/**
 * Where signed checkpoints are published, outside the database: a file by default, any
 * transparency service or object store behind the same port. The dispatcher publishes one per
 * tenant periodically when its `checkpoints` option is set.
 *
 * @since 0.3.0
 */
import { Context, type Duration, Effect, Schema } from "effect"
import type { ConsentStoreShape } from "./ConsentStore.js"
import type { StoreError } from "./Errors.js"
import { nodeFs } from "./internal/node.js"
import * as ProofLog from "./ProofLog.js"
import type { SignError, SignerShape } from "./Signer.js"

/** Publishing a checkpoint failed. */
export class SinkError extends Schema.TaggedError<SinkError>()("SinkError", { message: Schema.String }) {
  /** The next period tries again. */
  readonly isRetryable = true
}

/** A place checkpoints go. */
export interface CheckpointSinkShape {
  /** Publishes a tenant's signed note (a C2SP checkpoint). */
  readonly publish: (tenant: string, note: string) => Effect.Effect<void, SinkError>
}

/** The sink service. */
export class CheckpointSink extends Context.Service<CheckpointSink, CheckpointSinkShape>()(
  "@consentkit/core/CheckpointSink",
) {}

/**
 * A sink writing `<dir>/<tenant>.checkpoint` (the latest note, replaced atomically) and
 * appending each note to `<dir>/<tenant>.checkpoints` (every one published, for consistency
 * checks between any two).
 */
export const fileSink = (dir: string): CheckpointSinkShape => ({
  publish: (tenant, note) =>
    Effect.try({
      try: () => {
        const fs = nodeFs()
        if (!fs) throw new Error("no file system in this runtime")
        const name = encodeURIComponent(tenant)
        fs.mkdirSync(dir, { recursive: true })
        const latest = `${dir}/${name}.checkpoint`
        fs.writeFileSync(`${latest}.tmp`, note)
        fs.renameSync(`${latest}.tmp`, latest)
        fs.appendFileSync(`${dir}/${name}.checkpoints`, `${note}\n`)
      },
      catch: (e) => new SinkError({ message: `cannot write a checkpoint of ${tenant} to ${dir}: ${e}` }),
    }),
})

/** What the dispatcher's `checkpoints` option takes. */
export interface PublishOptions {
  readonly signer: SignerShape
  readonly sink: CheckpointSinkShape
  /** The tenants whose logs to publish. */
  readonly tenants: ReadonlyArray<string>
  /** How often (default 1 minute). */
  readonly every?: Duration.Input
  /** The origin of a tenant's log (default `consentkit/<tenant>`). */
  readonly originOf?: (tenant: string) => string
}

/**
 * Publishes a checkpoint of each tenant whose log grew since `published` said; returns the new
 * sizes. A tenant with an empty log is skipped.
 */
export const publishOnce = (
  store: ConsentStoreShape,
  options: PublishOptions,
  published: ReadonlyMap<string, number> = new Map(),
): Effect.Effect<ReadonlyMap<string, number>, StoreError | SignError | SinkError> =>
  Effect.gen(function* () {
    const sizes = new Map(published)
    for (const tenant of options.tenants) {
      const { note, checkpoint } = yield* ProofLog.checkpoint(
        store,
        options.signer,
        tenant,
        options.originOf?.(tenant),
      )
      if (checkpoint.size === 0 || checkpoint.size === sizes.get(tenant)) continue
      yield* options.sink.publish(tenant, note)
      sizes.set(tenant, checkpoint.size)
    }
    return sizes
  })

/** Publishes every period, forever; a failed period is logged and the next one tries again. */
export const publishEvery = (store: ConsentStoreShape, options: PublishOptions): Effect.Effect<never> =>
  Effect.gen(function* () {
    let published: ReadonlyMap<string, number> = new Map()
    for (;;) {
      const result = yield* Effect.result(publishOnce(store, options, published))
      if (result._tag === "Success") published = result.success
      else yield* Effect.logWarning("checkpoint publishing failed", result.failure)
      yield* Effect.sleep(options.every ?? "1 minute")
    }
  })
