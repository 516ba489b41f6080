/**
 * `consentkit erase`: Erases a subject, enqueueing erase intents for the named adapters.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import { type Command, required } from "../args.js"
import { line, UsageError } from "../io.js"
import { placeholderAdapters, withKit } from "../kit.js"

/** `consentkit erase`. */
export const erase: Command = (values, _, io) => {
  const secret = values.secret ?? io.env.CONSENTKIT_SECRET
  if (!secret)
    throw new UsageError("erase needs the pseudonym secret: --secret or CONSENTKIT_SECRET (the app's own)")
  const named = (values.adapters ?? "")
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean)
  const tenant = required(values, "tenant")
  let adapters: ReadonlyArray<string> = named
  return withKit(
    values,
    io,
    async (kit) => {
      const receipt = await kit.erase({
        tenant,
        subject: required(values, "subject"),
        ...(values["requested-by"] ? { requestedBy: values["requested-by"] } : {}),
      })
      line(io.stdout, JSON.stringify(receipt, null, 2))
      if (adapters.length === 0)
        line(
          io.stderr,
          "note: no --adapters named and none in the tenant's outbox, so no adapter was asked to erase; only the store was erased",
        )
      return 0
    },
    {
      secret,
      // Every adapter the tenant's outbox has delivered to gets the erase intent, beside those named:
      // the app's dispatcher then erases downstream and scrubs the subject's rows from the outbox.
      adapters: async (store) => {
        const stats = await Effect.runPromise(store.outboxStats(tenant))
        adapters = [...new Set([...named, ...stats.byAdapter.map((a) => a.adapter)])]
        return placeholderAdapters(adapters)
      },
    },
  )
}
