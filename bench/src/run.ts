import { writeFileSync } from "node:fs"
import { arch, cpus, loadavg, totalmem } from "node:os"
import { fileURLToPath } from "node:url"
import { audienceScenario } from "./audience.js"
import { crossInstanceScenario } from "./crossInstance.js"
import { decideScenario, heapScenario } from "./decide.js"
import { gateScenario } from "./gate.js"
import { importScenario } from "./import.js"
import { latencyScenario } from "./latency.js"
import { bytesScenario, coldDecideScenario, withdrawScenario } from "./limits.js"
import { proofLogScenario } from "./proof.js"
import { recordScenario } from "./record.js"
import { type Figure, fmt } from "./stats.js"
import { PG_URL } from "./stores.js"

const RUNS = Number(process.env.BENCH_RUNS ?? 5)
/** Runs of the scenarios that write to a database, wait on a dispatcher or walk a million events. */
const HEAVY_RUNS = Math.min(RUNS, 3)
/** Runs of the audience scenarios: each streams 1,000,000 subjects, about a minute per run here. */
const AUDIENCE_RUNS = Math.min(RUNS, 2)

/** A dependency's version, from its package.json (found by walking up from its entry when `exports` hides it). */
const versionOf = async (pkg: string): Promise<string> => {
  try {
    const { readFileSync } = await import("node:fs")
    const { dirname, join } = await import("node:path")
    let dir = dirname(fileURLToPath(import.meta.resolve(pkg)))
    for (let up = 0; up < 6; up++, dir = dirname(dir)) {
      try {
        const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
          name?: string
          version: string
        }
        if (json.name === pkg) return json.version
      } catch {
        // No package.json at this level; keep walking up.
      }
    }
    return "n/a"
  } catch {
    return "n/a"
  }
}

const cells = (f: Figure): Array<string> => {
  const s = (x: { min: number; median: number; max: number } | null, d = 0) =>
    x ? `${fmt(x.median, d)} (${fmt(x.min, d)}–${fmt(x.max, d)})` : "—"
  return [
    f.scenario,
    f.subject,
    s(f.ours),
    f.baseline,
    s(f.theirs),
    f.unit,
    s(f.ratio, 2),
    f.goal,
    f.met === null ? "—" : f.met ? "met" : "missed",
    f.limit ? `${f.limit.label}: ${s(f.limit.value)} (ours ${s(f.limit.ratio, 2)})` : "—",
  ]
}

/** A Markdown table with padded columns, as the formatter (biome) leaves it. */
const table = (header: Array<string>, rows: Array<Array<string>>): Array<string> => {
  const widths = header.map((h, c) => Math.max(3, h.length, ...rows.map((r) => r[c]!.length)))
  const row = (r: Array<string>) => `| ${r.map((v, c) => v.padEnd(widths[c]!)).join(" | ")} |`
  return [row(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...rows.map(row)]
}

const main = async () => {
  const figures: Array<Figure> = []
  const pg = PG_URL !== undefined
  type Scenario = readonly [string, () => Promise<Figure | ReadonlyArray<Figure>>]
  // PostgreSQL scenarios run only when CONSENTKIT_PG_URL names a server.
  const onPostgres = (...list: Array<Scenario>): Array<Scenario> => (pg ? list : [])
  const scenarios: Array<Scenario> = [
    ["decide", () => decideScenario(RUNS)],
    ["heap", () => heapScenario(HEAVY_RUNS)],
    ["gate", () => gateScenario(HEAVY_RUNS)],
    ["record-sqlite", () => recordScenario("sqlite", HEAVY_RUNS)],
    ["proof-sqlite", () => proofLogScenario("sqlite", HEAVY_RUNS)],
    ["import-sqlite", () => importScenario(HEAVY_RUNS)],
    ["withdraw-sqlite", () => withdrawScenario("sqlite", HEAVY_RUNS)],
    ["cold-decide-sqlite", () => coldDecideScenario("sqlite", HEAVY_RUNS)],
    ["bytes-sqlite", () => bytesScenario("sqlite", HEAVY_RUNS)],
    ...onPostgres(
      ["record-postgres", () => recordScenario("postgres", HEAVY_RUNS)],
      ["withdraw-postgres", () => withdrawScenario("postgres", HEAVY_RUNS)],
      ["cold-decide-postgres", () => coldDecideScenario("postgres", HEAVY_RUNS)],
      ["bytes-postgres", () => bytesScenario("postgres", HEAVY_RUNS)],
      ["proof-postgres", () => proofLogScenario("postgres", HEAVY_RUNS)],
      ["latency", () => latencyScenario(HEAVY_RUNS)],
    ),
    ["cross-instance", () => crossInstanceScenario(HEAVY_RUNS)],
    ["audience-sqlite", () => audienceScenario("sqlite", AUDIENCE_RUNS)],
    ...onPostgres(["audience-postgres", () => audienceScenario("postgres", AUDIENCE_RUNS)]),
  ]
  const only = process.env.BENCH_ONLY?.split(",")
  const loadBefore = loadavg()[0]!
  const started = Date.now()
  for (const [name, run] of scenarios) {
    if (only && !only.includes(name)) continue
    process.stderr.write(`bench: ${name}…\n`)
    const result = await run()
    for (const f of Array.isArray(result) ? result : [result as Figure]) {
      figures.push(f)
      const range = (x: { min: number; median: number; max: number } | null, d = 0) =>
        x ? `${fmt(x.median, d)} [${fmt(x.min, d)}–${fmt(x.max, d)}]` : "—"
      console.log(
        `${f.scenario}: ${f.subject} ${range(f.ours)} ${f.unit} vs ${f.baseline} ${range(f.theirs)} → ratio ${range(f.ratio, 2)} (goal ${f.goal}${f.met === null ? "" : f.met ? ", met" : ", missed"})${f.limit ? `; limit ${f.limit.label} ${range(f.limit.value)}, ours/limit ${range(f.limit.ratio, 2)}` : ""}`,
      )
    }
  }
  const minutes = (Date.now() - started) / 60_000
  const loadAfter = loadavg()[0]!
  const cpu = cpus()[0]?.model ?? "unknown"
  const md = [
    "# Benchmark results",
    "",
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpu} (${arch()}), ${fmt(totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}; ${pg ? "SQLite and PostgreSQL" : "SQLite only (set CONSENTKIT_PG_URL for PostgreSQL)"}, ${fmt(minutes, 1)} minutes.`,
    `Packages: effect ${await versionOf("effect")}, kysely ${await versionOf("kysely")}, better-sqlite3 ${await versionOf("better-sqlite3")}, pg ${await versionOf("pg")}, tinybench ${await versionOf("tinybench")}.`,
    `Each figure is the median of ${RUNS} runs (${HEAVY_RUNS} for the heap, gate, record and latency scenarios, ${AUDIENCE_RUNS} for the audiences); min–max in brackets; every ratio is against a baseline measured in the same run.`,
    `The machine is shared with other engineers' builds and tests: its one-minute load average was ${fmt(loadBefore, 1)} when the run started and ${fmt(loadAfter, 1)} when it ended, on ${cpus().length} cores, so absolute figures are noisy; ratios, measured side by side, less so.`,
    "",
    ...table(
      [
        "scenario",
        "subject",
        "value",
        "baseline",
        "baseline value",
        "unit",
        "ratio",
        "goal",
        "",
        "physical limit",
      ],
      figures.map(cells),
    ),
    "",
    ...figures.filter((f) => f.note).map((f) => `- ${f.scenario}: ${f.note}`),
    "",
  ].join("\n")
  if (only) {
    // A partial run (BENCH_ONLY) must not replace the full table: it prints its rows instead.
    console.log(`\n${md}`)
    return
  }
  writeFileSync(fileURLToPath(new URL("../RESULTS.md", import.meta.url)), md)
  console.log("\nwrote bench/RESULTS.md")
}

await main()
