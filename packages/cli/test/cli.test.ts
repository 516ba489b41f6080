import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { Adapter, createConsentKit, Intent } from "@consentkit/core"
import { openStore } from "@consentkit/storage-kysely"
import { Effect } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { inProcess } from "./fixtures/run.js"
import { freshTenant, policy, policyPath } from "./fixtures/policy.js"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const run = promisify(execFile)

/** Runs the real `consentkit` command in its own process; resolves with its output and exit code. */
const cli = async (args: ReadonlyArray<string>, env: Record<string, string> = {}) => {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ["--conditions=@consentkit/source", "--import", "tsx", "src/cli.ts", ...args],
      {
        cwd: packageDir,
        env: { ...process.env, ...env },
        maxBuffer: 16 * 1024 * 1024,
      },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string }
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" }
  }
}

describe("consentkit CLI", () => {
  const dir = mkdtempSync(join(tmpdir(), "consentkit-cli-"))
  const db = join(dir, "brand.sqlite")
  const tenant = freshTenant("cli")

  beforeAll(async () => {
    const migrated = await cli(["migrate", "--db", db])
    expect(migrated).toMatchObject({ code: 0 })
    expect(migrated.stdout).toContain("0001_initial")
  }, 60_000)

  it("imports the good rows of a CSV file and reports each bad row's line and reason", async () => {
    const good = Array.from(
      { length: 40 },
      (_, i) => `c-${i},marketing.email,grant,1,2025-03-01T10:${String(i).padStart(2, "0")}:00Z,pos,TH`,
    )
    const lines = [
      "subject,purpose,action,notice_version,occurred_at,source,jurisdiction",
      ...good.slice(0, 10),
      "c-bad-1,analytcs,grant,1,2025-03-01T10:00:00Z,pos,TH", // line 12: unknown purpose
      ...good.slice(10, 20),
      "c-bad-2,marketing.email,grant,,2025-03-01T10:00:00Z,pos,TH", // line 23: grant without notice version
      "c-bad-3,marketing.email,grant,1,2025-03-01T10:00:00Z,pos", // line 24: a column short
      "c-bad-4,marketing.email,grant,1,yesterday,pos,TH", // line 25: not a date
      ...good.slice(20, 30),
      "c-bad-5,marketing.email,maybe,1,2025-03-01T10:00:00Z,pos,TH", // line 36: not an action
      "c-bad-6,marketing.email,grant,1,2999-01-01T00:00:00Z,pos,TH", // line 37: in the future
      ...good.slice(30, 40),
      "c-40,marketing.sms,deny,,2025-03-02,form,TH",
      // One signup, two rows: recorded together unless one is refused, then one by one.
      "c-pair,marketing.email,grant,1,2025-03-03T09:00:00Z,form,TH",
      "c-pair,analytcs,grant,1,2025-03-03T09:00:00Z,form,TH", // line 50
    ]
    const file = join(dir, "legacy.csv")
    writeFileSync(file, `${lines.join("\n")}\n`)
    const result = await cli(["import", "--db", db, "--policy", policyPath, "--tenant", tenant, file])
    expect(result.code).toBe(2)
    expect(result.stdout).toContain("imported 42 rows, 0 already present, 7 rejected (of 49)")
    const reported = result.stdout.split("\n").filter((l) => l.startsWith("line "))
    expect(reported.map((l) => l.split(":")[0])).toEqual([
      "line 12",
      "line 23",
      "line 24",
      "line 25",
      "line 36",
      "line 37",
      "line 50",
    ])
    expect(reported[0]).toMatch(/UNKNOWN_PURPOSE: .*"analytcs" is not a purpose/)
    expect(reported[1]).toMatch(/MISSING_NOTICE_VERSION: .*notice version/)
    expect(reported[2]).toMatch(/MALFORMED: .*length/i)
    expect(reported[3]).toMatch(/MALFORMED: occurredAt: "yesterday" is not a date/)
    expect(reported[4]).toMatch(/MALFORMED: .*action/)
    expect(reported[5]).toMatch(/FUTURE_TIMESTAMP/)
    expect(reported[6]).toMatch(/UNKNOWN_PURPOSE: .*"analytcs"/)
    // The progress bar goes to stderr, never into the report.
    expect(result.stderr).toMatch(/49\/49 rows/)

    const { store, close } = await openStore(db, { migrate: false })
    try {
      for (const i of [0, 17, 39]) {
        const [event] = await Effect.runPromise(store.history(tenant, `c-${i}`))
        expect(event).toMatchObject({
          purpose: "marketing.email",
          action: "grant",
          noticeVersion: 1,
          source: "pos",
        })
      }
      expect(await Effect.runPromise(store.history(tenant, "c-bad-1"))).toEqual([])
      expect(
        (await Effect.runPromise(store.state(tenant, "c-40")))?.purposes.get("marketing.sms")?.status,
      ).toBe("denied")
      const pair = await Effect.runPromise(store.history(tenant, "c-pair"))
      expect(pair.map((e) => e.purpose)).toEqual(["marketing.email"])
    } finally {
      await close()
    }

    // The same file again: every good row is already there.
    const again = await inProcess(["import", "--db", db, "--policy", policyPath, "--tenant", tenant, file])
    expect(again.stdout).toContain("imported 0 rows, 42 already present, 7 rejected (of 49)")
  }, 120_000)

  it("imports JSON Lines and reports a line that is not JSON", async () => {
    const file = join(dir, "legacy.jsonl")
    writeFileSync(
      file,
      [
        JSON.stringify({
          subject: "j-1",
          purpose: "analytics",
          action: "grant",
          noticeVersion: 2,
          occurredAt: "2025-04-01T00:00:00Z",
          source: "app",
        }),
        "{not json",
        "",
        JSON.stringify({
          subject: "j-2",
          purpose: "analytics",
          action: "withdraw",
          occurredAt: "2025-04-02T00:00:00Z",
        }),
        JSON.stringify({ subject: "j-3", purpose: "analytics", action: "grant", noticeVersion: 2 }),
      ].join("\n"),
    )
    const result = await inProcess(["import", "--db", db, "--policy", policyPath, "--tenant", tenant, file])
    expect(result.code).toBe(2)
    expect(result.stdout).toContain("imported 2 rows, 0 already present, 2 rejected (of 4)")
    expect(result.stdout).toMatch(/line 2: MALFORMED: not valid JSON/)
    expect(result.stdout).toMatch(/line 5: MALFORMED: occurredAt: is required/)
  }, 120_000)

  it("exports a subject, verifies chains, prints stats, previews a re-consent and erases", async () => {
    const subject = "c-3"
    const exported = await inProcess([
      "export",
      "--db",
      db,
      "--policy",
      policyPath,
      "--tenant",
      tenant,
      "--subject",
      subject,
    ])
    expect(exported.code).toBe(0)
    const data = JSON.parse(exported.stdout) as {
      subject: string
      events: Array<{ purpose: string }>
      chain: { ok: boolean }
    }
    expect(data.subject).toBe(subject)
    expect(data.events.map((e) => e.purpose)).toEqual(["marketing.email"])
    expect(data.chain.ok).toBe(true)

    const verified = await inProcess(["verify", "--db", db, "--tenant", tenant])
    expect(verified).toMatchObject({ code: 0 })
    expect(verified.stdout).toMatch(/verified 44 chains: all intact/)
    expect(
      (await inProcess(["verify", "--db", db, "--tenant", tenant, "--subject", subject])).stdout,
    ).toMatch(/^ok: 1 events/)

    const stats = await inProcess([
      "stats",
      "--db",
      db,
      "--tenant",
      tenant,
      "--from",
      "2025-01-01",
      "--to",
      "2026-01-01",
      "--json",
    ])
    const parsed = JSON.parse(stats.stdout) as {
      rates: Array<{ purpose: string; action: string; count: number }>
    }
    const grants = parsed.rates.filter((r) => r.purpose === "marketing.email" && r.action === "grant")
    expect(grants.reduce((n, r) => n + r.count, 0)).toBe(41)

    const impact = await inProcess([
      "impact",
      "--db",
      db,
      "--policy",
      policyPath,
      "--tenant",
      tenant,
      "--purpose",
      "marketing.email",
      "--version",
      "2",
      "--json",
    ])
    expect(JSON.parse(impact.stdout)).toMatchObject({
      scanned: 41,
      affected: 41,
      purposes: { "marketing.email": 41 },
      channels: { email: 41 },
    })

    expect(
      (
        await inProcess([
          "erase",
          "--db",
          db,
          "--policy",
          policyPath,
          "--tenant",
          tenant,
          "--subject",
          subject,
        ])
      ).code,
    ).toBe(64)
    const erased = await inProcess(
      [
        "erase",
        "--db",
        db,
        "--policy",
        policyPath,
        "--tenant",
        tenant,
        "--subject",
        subject,
        "--adapters",
        "crm",
      ],
      { CONSENTKIT_SECRET: "brand-secret-0123456789abcdef0123456789abcdef" },
    )
    expect(erased.code).toBe(0)
    const receipt = JSON.parse(erased.stdout) as {
      pseudonym: string
      eventsKept: number
      adapters: Array<string>
    }
    expect(receipt).toMatchObject({ eventsKept: 1, adapters: ["crm"] })
    const after = await inProcess([
      "export",
      "--db",
      db,
      "--policy",
      policyPath,
      "--tenant",
      tenant,
      "--subject",
      subject,
    ])
    expect(JSON.parse(after.stdout)).toMatchObject({ events: [], state: [] })
  }, 120_000)

  it("erase asks every adapter the tenant's outbox delivers to, so the app's dispatcher erases downstream", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "consentkit-cli-erase-")), "app.sqlite")
    const tenant = freshTenant("erase")
    const opened = await openStore(`sqlite:${file}`)
    const app = createConsentKit({
      policy,
      store: opened.store,
      secret: "brand-secret-0123456789abcdef0123456789abcdef",
      adapters: [
        Adapter.fromHandlers({
          name: "warehouse",
          role: "messenger",
          channels: ["email"],
          handlers: Object.fromEntries(Intent.KINDS.map((kind) => [kind, async () => undefined])),
        }),
      ],
      dispatcher: { autoStart: false },
    })
    await app.record({
      tenant,
      subject: "cust-erase-1",
      source: "pos",
      decisions: [{ purpose: "marketing.email", action: "grant", noticeVersion: 1 }],
    })
    await app.record({
      tenant,
      subject: "cust-erase-1",
      source: "pos",
      decisions: [{ purpose: "marketing.email", action: "withdraw" }],
    })
    // The withdrawal's suppression waits in the outbox for the app's dispatcher.
    expect((await app.outbox.stats(tenant)).byAdapter.map((a) => a.adapter)).toEqual(["warehouse"])
    await app.close()
    await opened.close()
    const erased = await inProcess(
      [
        "erase",
        "--db",
        `sqlite:${file}`,
        "--policy",
        policyPath,
        "--tenant",
        tenant,
        "--subject",
        "cust-erase-1",
      ],
      { CONSENTKIT_SECRET: "brand-secret-0123456789abcdef0123456789abcdef" },
    )
    expect(erased.code).toBe(0)
    expect(JSON.parse(erased.stdout).adapters).toEqual(["warehouse"])
    expect(erased.stderr).not.toContain("no adapter was asked")
    const weak = await inProcess(
      [
        "erase",
        "--db",
        `sqlite:${file}`,
        "--policy",
        policyPath,
        "--tenant",
        tenant,
        "--subject",
        "cust-erase-1",
      ],
      { CONSENTKIT_SECRET: "brand-secret" },
    )
    expect(weak.code).not.toBe(0)
    expect(weak.stderr).toMatch(/secret.*bytes long/)
  }, 60_000)

  it("explains its usage", async () => {
    expect((await inProcess(["help"])).stdout).toContain("consentkit <command>")
    const unknown = await inProcess(["frobnicate"])
    expect(unknown.code).toBe(64)
    expect(unknown.stderr).toContain('unknown command "frobnicate"')
    expect(
      (await inProcess(["import", "--db", db, "--policy", policyPath, "--tenant", tenant])).stderr,
    ).toContain("import needs a file")
    // A policy can also be an ES module default-exporting Policy.define's input (or a defined policy).
    const module = join(dir, "policy.mjs")
    writeFileSync(module, `export default ${readFileSync(policyPath, "utf8")}`)
    const viaModule = await inProcess([
      "export",
      "--db",
      db,
      "--policy",
      module,
      "--tenant",
      tenant,
      "--subject",
      "c-5",
    ])
    expect(JSON.parse(viaModule.stdout).decisions.map((d: { purpose: string }) => d.purpose)).toContain(
      "marketing.sms",
    )
  }, 60_000)
})
