import { createConsentKit, type Ledger, ProofLog, Signer, State } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { sql } from "kysely"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { dialects } from "./dialects.js"
import { freshTenant, policy } from "./fixtures/policy.js"

const SECRET = "s-0123456789abcdef0123456789abcdef"
const keys = Signer.generatePem()
const signer = Effect.runSync(Signer.fromPrivateKeyPem(keys.privateKey, "test-trip"))
const verifier = Signer.verifierFromPem(keys.publicKey, "test-trip")
const grant = (purpose: string) => ({ purpose, action: "grant" as const, noticeVersion: 1 })

/** Every query sent through node-postgres while `work` runs (the server dialect only). */
const countQueries = async <A>(work: () => Promise<A>): Promise<{ value: A; sent: Array<string> }> => {
  const proto = pg.Client.prototype as unknown as { query: (...args: Array<unknown>) => unknown }
  const original = proto.query
  const sent: Array<string> = []
  proto.query = function (this: unknown, ...args: Array<unknown>) {
    const first = args[0]
    sent.push(typeof first === "string" ? first : String((first as { text?: unknown })?.text ?? ""))
    return original.apply(this, args)
  }
  try {
    return { value: await work(), sent }
  } finally {
    proto.query = original
  }
}

// PostgreSQL, server and PGlite: the two-round-trip write path (migration 0007's commit_v1).
describe.each(dialects().filter((d) => d.name === "postgres" || d.name === "pglite"))(
  "two-round-trip record ($name)",
  (dialect) => {
    // A prefix of its own: the fallback test drops this prefix's commit function.
    const prefix = `ck_trip_${Math.random().toString(36).slice(2, 8)}_`
    let opened: Awaited<ReturnType<typeof openStore>>
    beforeAll(async () => {
      opened = await openStore(dialect.url(), { tablePrefix: prefix })
    })
    afterAll(async () => {
      await opened?.close()
    })
    const kitOf = () =>
      createConsentKit({
        policy,
        store: opened.store,
        secret: SECRET,
        dispatcher: { autoStart: false },
        feed: false,
      })

    // Counted at node-postgres, so on the server only (registered there, not skipped elsewhere).
    if (dialect.name === "postgres")
      it("sends one read and one commit statement per record, and its log and chain verify", async () => {
        const kit = kitOf()
        const tenant = freshTenant("trip")
        try {
          const record = (i: number) =>
            kit.record({
              tenant,
              subject: `s${i}`,
              source: "banner",
              idempotencyKey: `k${i}`,
              decisions: [grant("analytics"), grant("marketing")],
            })
          const { sent } = await countQueries(async () => {
            for (let i = 0; i < 3; i++) await record(i)
          })
          expect(sent).toHaveLength(6)
          expect(sent.filter((q) => q.includes(`${prefix}commit_v1`))).toHaveLength(3)
          expect(sent.some((q) => /^\s*begin/i.test(q))).toBe(false)
          // The log appended in SQL is the one core computes: a checkpoint of it, grown by more
          // records, audits (leaves, the stored compact range, the consistency proof from the nodes).
          const first = await Effect.runPromise(ProofLog.checkpoint(opened.store, signer, tenant))
          expect(first.checkpoint.size).toBe(6)
          for (let i = 3; i < 7; i++) await record(i)
          expect(
            await Effect.runPromise(ProofLog.audit(opened.store, verifier, tenant, first.note)),
          ).toMatchObject({
            ok: true,
            size: 14,
          })
          for (let i = 0; i < 7; i++) expect((await kit.verify(tenant, `s${i}`)).ok).toBe(true)
        } finally {
          await kit.close()
        }
      })

    it("a writer that read a stale state writes nothing and runs again on the fresh one", async () => {
      const kit = kitOf()
      const tenant = freshTenant("race")
      try {
        await kit.record({ tenant, subject: "s", source: "banner", decisions: [grant("analytics")] })
        let runs = 0
        const stale = opened.store.withSubject(tenant, "s", (tx) =>
          Effect.gen(function* () {
            runs++
            const before = yield* tx.state
            if (runs === 1)
              // Another writer commits between this body's read and its write.
              yield* Effect.promise(() =>
                kit.record({ tenant, subject: "s", source: "banner", decisions: [grant("marketing")] }),
              )
            const seq = (before?.seq ?? 0) + 1
            const event: Ledger.ConsentEvent = {
              id: `e-${runs}`,
              tenant,
              subject: "s",
              seq,
              purpose: "marketing.email",
              action: "grant",
              noticeVersion: 1,
              occurredAt: new Date(),
              recordedAt: new Date(),
              source: "test",
              actor: { kind: "subject" },
              evidence: {},
              jurisdiction: "TH",
              subjectAge: null,
              expiresAt: null,
              commandId: `c-${runs}`,
              salt: "00",
              personalDigest: "00",
              prevHash: before?.head ?? null,
              hash: `h-${runs}`,
              erased: false,
            }
            yield* tx.append([event])
            yield* tx.saveState(State.apply(before ?? State.empty(tenant, "s"), event))
            return seq
          }),
        )
        const seq = await Effect.runPromise(stale)
        // The first run's write was refused (seq 2 was taken): nothing of it is stored.
        expect(runs).toBe(2)
        expect(seq).toBe(3)
        const events = await Effect.runPromise(opened.store.history(tenant, "s"))
        expect(events.map((e) => [e.seq, e.id.startsWith("e-") ? e.id : e.purpose])).toEqual([
          [1, "analytics"],
          [2, "marketing"],
          [3, "e-2"],
        ])
        const state = await Effect.runPromise(opened.store.state(tenant, "s"))
        expect(state?.seq).toBe(3)
        expect([...(state?.purposes.keys() ?? [])].sort()).toEqual([
          "analytics",
          "marketing",
          "marketing.email",
        ])
      } finally {
        await kit.close()
      }
    })

    it("a body that needs the subject's lock (an alias read) runs under it, once its buffered writes are dropped", async () => {
      const kit = kitOf()
      const tenant = freshTenant("lock")
      try {
        let runs = 0
        const aliases = await Effect.runPromise(
          opened.store.withSubject(tenant, "s", (tx) =>
            Effect.gen(function* () {
              runs++
              yield* tx.addAlias({ kind: "email", value: "s@example.com" })
              return yield* tx.aliases
            }),
          ),
        )
        // The two-round-trip try stopped at the alias read; the locked run wrote the alias once.
        expect(runs).toBe(2)
        expect(aliases).toEqual([{ kind: "email", value: "s@example.com" }])
        const count = await sql<{
          n: number | string
        }>`select count(*) as n from ${sql.table(`${prefix}alias`)} where tenant = ${tenant}`.execute(
          opened.database.db,
        )
        expect(Number(count.rows[0]?.n)).toBe(1)
      } finally {
        await kit.close()
      }
    })

    // Last: it drops this prefix's function.
    it("a database migrated before 0007 (no commit function) records under the lock instead", async () => {
      await sql.raw(`drop function ${prefix}commit_v1(jsonb)`).execute(opened.database.db)
      const kit = kitOf()
      const tenant = freshTenant("old")
      try {
        const first = await kit.record({
          tenant,
          subject: "s",
          source: "banner",
          idempotencyKey: "k",
          decisions: [grant("analytics")],
        })
        expect(first.duplicate).toBe(false)
        const again = await kit.record({
          tenant,
          subject: "s",
          source: "banner",
          idempotencyKey: "k",
          decisions: [grant("analytics")],
        })
        expect(again).toMatchObject({ duplicate: true, commandId: first.commandId })
        expect((await kit.verify(tenant, "s")).ok).toBe(true)
        expect((await kit.decide(tenant, "s", "analytics")).allowed).toBe(true)
      } finally {
        await kit.close()
      }
    })
  },
)
