/**
 * Node built-ins reached without a static import, so browser and edge bundles of core stay
 * free of them; `process.getBuiltinModule` exists from Node 20.16.
 */
import type * as NodeCrypto from "node:crypto"
import type * as NodeFs from "node:fs"

const builtin = <A>(id: string): A | undefined => {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process
  try {
    return proc?.getBuiltinModule?.(id) as A | undefined
  } catch {
    return undefined
  }
}

/** `node:crypto`, or undefined outside Node. */
export const nodeCrypto = (): typeof NodeCrypto | undefined => builtin<typeof NodeCrypto>("node:crypto")

/** `node:fs`, or undefined outside Node. */
export const nodeFs = (): typeof NodeFs | undefined => builtin<typeof NodeFs>("node:fs")
