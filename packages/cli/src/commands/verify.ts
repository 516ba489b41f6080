/**
 * `consentkit verify`: Verifies hash chains: one subject, or every subject of a tenant. With
 * `--checkpoint` and `--public-key`, audits the tenant's proof log against a signed checkpoint.
 *
 * @since 0.1.0
 */
import { readFileSync } from "node:fs"
import { Ledger } from "@consentkit/core"
import { Effect } from "effect"
import { type Command, required } from "../args.js"
import { line } from "../io.js"
import { openStoreOf } from "../kit.js"
import { auditReport } from "../proof.js"

/** `verify --checkpoint`: exit 0 only when the signature, the consistency and every entry check out. */
const audit: Command = async (values, _, io) => {
  const tenant = required(values, "tenant")
  const note = readFileSync(required(values, "checkpoint"), "utf8")
  const pem = readFileSync(required(values, "public-key"), "utf8")
  const { store, close } = await openStoreOf(values, io)
  try {
    const report = await auditReport(store, tenant, note, pem, values.origin)
    line(io.stdout, report.line)
    return report.code
  } finally {
    await close()
  }
}

/** `consentkit verify`. */
export const verify: Command = async (values, positionals, io) => {
  if (values.checkpoint !== undefined || values["public-key"] !== undefined)
    return audit(values, positionals, io)
  const tenant = required(values, "tenant")
  const { store, close } = await openStoreOf(values, io)
  try {
    const check = async (subject: string) => {
      const events = await Effect.runPromise(store.history(tenant, subject))
      const state = await Effect.runPromise(store.state(tenant, subject))
      return Ledger.verifyPromise(events, state ? state.head : undefined)
    }
    if (values.subject !== undefined) {
      const result = await check(values.subject)
      line(
        io.stdout,
        result.ok
          ? `ok: ${result.count} events, head ${result.head ?? "(none)"}`
          : `broken: ${result.problem.message}`,
      )
      return result.ok ? 0 : 2
    }
    let checked = 0
    let broken = 0
    let after: string | null = null
    do {
      const page: { subjects: ReadonlyArray<string>; next: string | null } = await Effect.runPromise(
        store.subjects({ tenant, after, limit: 500 }),
      )
      for (const subject of page.subjects) {
        const result = await check(subject)
        checked++
        if (!result.ok) {
          broken++
          line(io.stdout, `${subject}: ${result.problem.kind}: ${result.problem.message}`)
        }
      }
      after = page.next
    } while (after !== null)
    line(io.stdout, `verified ${checked} chains: ${broken === 0 ? "all intact" : `${broken} broken`}`)
    return broken === 0 ? 0 : 2
  } finally {
    await close()
  }
}
