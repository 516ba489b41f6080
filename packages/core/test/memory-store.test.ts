import { MemoryStore } from "@consentkit/core"
import { storeConformance } from "@consentkit/core/testing"

storeConformance("memory", { setup: async () => ({ store: MemoryStore.make() }) })
