import { MemoryStore } from "@consentkit/core"
import { feedConformance } from "@consentkit/core/testing"

// Two kits on one in-memory store: what two kits in one process see.
feedConformance("memory", {
  setup: async () => {
    const store = MemoryStore.make()
    return { a: store, b: store }
  },
})
