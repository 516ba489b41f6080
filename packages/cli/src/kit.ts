/**
 * Opening the store and a kit over it for one command, and closing both afterwards.
 *
 * @since 0.1.0
 */
import { randomBytes } from "node:crypto"
import { type Adapter, createConsentKit, type Policy } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { required, type Values } from "./args.js"
import type { Io } from "./io.js"
import { loadPolicy } from "./policy.js"

/** Adapters the CLI enqueues erase intents for; the app's dispatchers deliver them. */
export const placeholderAdapters = (names: ReadonlyArray<string>): ReadonlyArray<Adapter.Adapter> =>
  names.map((name) => ({
    name,
    role: "cdp" as const,
    kinds: ["subject.erase" as const],
    categories: [],
    channels: [],
    capabilities: { erase: true, suppress: false },
    deliver: () =>
      Effect.die(new Error(`the consentkit CLI does not deliver to "${name}": run the app's dispatcher`)),
  }))

export const withKit = async <A>(
  values: Values,
  io: Io,
  use: (
    kit: ReturnType<typeof createConsentKit<string>>,
    policy: Policy.Policy,
    store: Awaited<ReturnType<typeof openStore>>["store"],
  ) => Promise<A>,
  extra: {
    secret?: string
    /** The kit's adapters, or a function of the opened store that finds them. */
    adapters?:
      | ReadonlyArray<Adapter.Adapter>
      | ((store: Awaited<ReturnType<typeof openStore>>["store"]) => Promise<ReadonlyArray<Adapter.Adapter>>)
  } = {},
): Promise<A> => {
  const policy = await loadPolicy(required(values, "policy"))
  const { store, close } = await openStore(required(values, "db", io.env.CONSENTKIT_DB), {
    tablePrefix: values.prefix,
  })
  const kit = createConsentKit({
    policy,
    store,
    // Only `erase` pseudonymises, with the app's own secret; other commands never use one, so a throwaway key serves.
    secret: extra.secret ?? randomBytes(32).toString("base64url"),
    adapters: typeof extra.adapters === "function" ? await extra.adapters(store) : (extra.adapters ?? []),
    dispatcher: { autoStart: false },
  })
  try {
    return await use(kit, policy, store)
  } finally {
    await kit.close()
    await close()
  }
}

/** Opens the store named by `--db` (or CONSENTKIT_DB) with `--prefix`. */
export const openStoreOf = (values: Values, io: Io) =>
  openStore(required(values, "db", io.env.CONSENTKIT_DB), { tablePrefix: values.prefix })
