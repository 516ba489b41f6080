/** The in-memory store's proof log: per tenant, its compact range, entries and perfect nodes. */
import { Effect } from "effect"
import type { LogAppend, LogEntry, LogReads } from "../ConsentStore.js"
import type { ConsentEvent } from "../Ledger.js"
import type { CompactRange } from "../MerkleLog.js"
import { fromHex } from "./sha256.js"

interface TenantLog {
  range: CompactRange
  readonly entries: Array<LogEntry>
  readonly nodes: Map<string, Uint8Array>
}

/** A memory log; `eventsOf` lists a tenant's events for audits. */
export const makeMemoryLog = (eventsOf: (tenant: string) => ReadonlyArray<ConsentEvent>) => {
  const logs = new Map<string, TenantLog>()
  const logOf = (tenant: string): TenantLog => {
    let log = logs.get(tenant)
    if (!log) {
      log = { range: { size: 0, hashes: [] }, entries: [], nodes: new Map() }
      logs.set(tenant, log)
    }
    return log
  }

  /** Applies an append at commit time, so `build` sees the range other subjects' commits left. */
  const commitAppend = (tenant: string, build: (range: CompactRange) => LogAppend) => {
    const log = logOf(tenant)
    const append = build(log.range)
    log.entries.push(...append.entries)
    for (const n of append.nodes) log.nodes.set(`${n.level}/${n.index}`, n.hash)
    log.range = append.range
  }

  const reads: LogReads = {
    logRange: (tenant) => Effect.sync(() => logOf(tenant).range),
    logEntries: (tenant, from, to) => Effect.sync(() => logOf(tenant).entries.slice(from, to)),
    logEntriesOf: (tenant, refs) =>
      Effect.sync(() => {
        const wanted = new Set(refs)
        return logOf(tenant).entries.filter((e) => wanted.has(e.ref))
      }),
    logNodes: (tenant, ids) =>
      Effect.sync(() => {
        const log = logOf(tenant)
        const found = new Map<string, Uint8Array>()
        for (const { level, index } of ids) {
          const hash =
            level === 0
              ? log.entries[index]
                ? fromHex(log.entries[index].leafHash)
                : undefined
              : log.nodes.get(`${level}/${index}`)
          if (hash) found.set(`${level}/${index}`, hash)
        }
        return found
      }),
    tenantEvents: (tenant) => Effect.sync(() => eventsOf(tenant)),
  }
  return { commitAppend, reads }
}
