/**
 * The adapters of the shop, built the same way in every process. Writers enqueue one outbox row
 * per adapter that accepts an intent, and a dispatcher delivers only rows of adapters it has, so
 * the API (which writes) and the dispatchers (which deliver) must list the same adapters.
 */
import { type NatsBus, natsBus } from "@consentkit/adapter-bus-nats"
import type { Adapter } from "@consentkit/core"
import type { Kysely } from "kysely"
import { parseAdapters, warehouseAdapter } from "./warehouse.js"

/** Where the shop's adapters write. */
export interface AdapterConfig {
  readonly db: Kysely<any>
  readonly prefix: string
  /** This process's name, logged with each warehouse attempt. */
  readonly process: string
  /** Warehouse adapters, e.g. `warehouse,crm:messaging.suppress` (default `warehouse`). */
  readonly warehouse?: string
  /** NATS settings; without them the shop has no bus. */
  readonly nats?: { readonly servers: string; readonly stream: string; readonly subjectPrefix: string }
}

/** The adapters and the bus (when NATS is configured). */
export const shopAdapters = (
  config: AdapterConfig,
): { adapters: Array<Adapter.Adapter>; buses: Array<Adapter.Adapter>; bus: NatsBus | undefined } => {
  const bus = config.nats ? natsBus(config.nats) : undefined
  return {
    adapters: parseAdapters(config.warehouse ?? "warehouse").map((spec) =>
      warehouseAdapter({ db: config.db, prefix: config.prefix, dispatcher: config.process, ...spec }),
    ),
    buses: bus ? [bus.adapter] : [],
    bus,
  }
}

/** Adapter and bus settings from the environment (the example's processes share them). */
export const adapterEnv = (): Pick<AdapterConfig, "warehouse" | "nats"> => ({
  warehouse: process.env.ADAPTERS ?? "warehouse",
  nats: process.env.CONSENTKIT_NATS_URL
    ? {
        servers: process.env.CONSENTKIT_NATS_URL,
        stream: process.env.NATS_STREAM ?? "CONSENTKIT",
        subjectPrefix: process.env.NATS_SUBJECT_PREFIX ?? "consentkit",
      }
    : undefined,
})
