/**
 * Alias → subject through the kit's store: the Promise client has no `resolveAlias`, so this asks
 * the runtime's `ConsentKit` service for its store (one read, no lock).
 */
import { ConsentKit } from "@consentkit/core"
import { Effect } from "effect"
import type { Kit } from "./gate.js"

/** The subject an alias (e.g. `{ kind: "line", value: "U…" }`) was linked to with `kit.link`, or null. */
export const resolveAlias = (
  kit: Pick<Kit, "runtime">,
  tenant: string,
  alias: { readonly kind: string; readonly value: string },
): Promise<string | null> =>
  kit.runtime.runPromise(
    Effect.gen(function* () {
      const runtime = yield* ConsentKit.ConsentKit
      return yield* runtime.store.resolveAlias(tenant, alias)
    }),
  )
