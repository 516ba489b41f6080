import { writeFileSync } from "node:fs"
import { arch, cpus, totalmem } from "node:os"
import { fileURLToPath } from "node:url"
import { decideScenario, heapScenario } from "./decide.js"
import { type Figure, fmt } from "./stats.js"

const RUNS = Number(process.env.BENCH_RUNS ?? 5)

const versionOf = async (pkg: string): Promise<string> => {
  try {
    const { createRequire } = await import("node:module")
    const require = createRequire(import.meta.url)
    return (require(`${pkg}/package.json`) as { version: string }).version
  } catch {
    return "n/a"
  }
}

const line = (f: Figure): string => {
  const s = (x: { min: number; median: number; max: number } | null, d = 0) =>
    x ? `${fmt(x.median, d)} (${fmt(x.min, d)}–${fmt(x.max, d)})` : "—"
  return `| ${f.scenario} | ${f.subject} | ${s(f.ours)} | ${f.baseline} | ${s(f.theirs)} | ${f.unit} | ${s(f.ratio, 2)} | ${f.goal} | ${f.met === null ? "—" : f.met ? "met" : "missed"} |`
}

const main = async () => {
  const figures: Array<Figure> = []
  const scenarios: Array<[string, () => Promise<Figure | ReadonlyArray<Figure>>]> = [
    ["decide", () => decideScenario(RUNS)],
    ["heap", () => heapScenario(Math.min(RUNS, 3))],
  ]
  const only = process.env.BENCH_ONLY?.split(",")
  for (const [name, run] of scenarios) {
    if (only && !only.includes(name)) continue
    process.stderr.write(`bench: ${name}…\n`)
    const result = await run()
    for (const f of Array.isArray(result) ? result : [result as Figure]) {
      figures.push(f)
      console.log(
        `${f.scenario}: ${f.subject} ${fmt(f.ours.median)} ${f.unit} vs ${f.baseline} ${f.theirs ? fmt(f.theirs.median) : "—"} → ratio ${f.ratio ? fmt(f.ratio.median, 2) : "—"} (goal ${f.goal})`,
      )
    }
  }
  const cpu = cpus()[0]?.model ?? "unknown"
  const md = [
    "# Benchmark results",
    "",
    `Measured by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} × ${cpu} (${arch()}), ${fmt(totalmem() / 2 ** 30, 1)} GiB, Node ${process.version}.`,
    `Packages: effect ${await versionOf("effect")}, kysely ${await versionOf("kysely")}, better-sqlite3 ${await versionOf("better-sqlite3")}, pg ${await versionOf("pg")}, tinybench ${await versionOf("tinybench")}.`,
    `Each figure is the median of ${RUNS} runs (min–max in brackets); every ratio is against a baseline measured in the same run.`,
    "",
    "| scenario | subject | value | baseline | baseline value | unit | ratio | goal | |",
    "|---|---|---|---|---|---|---|---|---|",
    ...figures.map(line),
    "",
    ...figures.filter((f) => f.note).map((f) => `- ${f.scenario}: ${f.note}`),
    "",
  ].join("\n")
  writeFileSync(fileURLToPath(new URL("../RESULTS.md", import.meta.url)), md)
  console.log("\nwrote bench/RESULTS.md")
}

await main()
