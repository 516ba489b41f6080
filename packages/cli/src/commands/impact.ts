/**
 * `consentkit impact`: Who would lose what if a purpose got a new material notice version.
 *
 * @since 0.1.0
 */
import { reconsentImpact } from "@consentkit/core"
import { type Command, date, integer, required } from "../args.js"
import { line, UsageError } from "../io.js"
import { withKit } from "../kit.js"

/** `consentkit impact`. */
export const impact: Command = (values, _, io) =>
  withKit(values, io, async (_kit, policy, store) => {
    const purpose = required(values, "purpose")
    const version = integer(values.version, "version", 0)
    if (version === 0) throw new UsageError("--version is required")
    const impact = await reconsentImpact(store, policy, purpose, version, {
      tenant: required(values, "tenant"),
      effectiveAt: date(values["effective-at"], "effective-at", new Date()),
    })
    if (values.json) line(io.stdout, JSON.stringify(impact, null, 2))
    else {
      line(
        io.stdout,
        `a material version ${impact.version} of "${purpose}" would need ${impact.affected} of ${impact.scanned} consenting subjects to consent again`,
      )
      for (const [kind, counts] of [
        ["purpose", impact.purposes],
        ["channel", impact.channels],
        ["category", impact.categories],
      ] as const) {
        for (const [name, n] of Object.entries(counts))
          line(io.stdout, `  ${kind} ${name}: ${n} would lose it`)
      }
    }
    return 0
  })
