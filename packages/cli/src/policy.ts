import { readFile } from "node:fs/promises"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { Policy } from "@consentkit/core"

const isDefined = (value: unknown): value is Policy.Policy =>
  typeof value === "object" &&
  value !== null &&
  (value as Policy.Policy).purposes instanceof Map &&
  Array.isArray((value as Policy.Policy).purposeIds)

/** Reads the brand's policy: JSON in `Policy.define`'s input shape, or an ES module default-exporting a policy (defined or not). */
export const loadPolicy = async (path: string): Promise<Policy.Policy> => {
  const absolute = resolve(path)
  let value: unknown
  if (/\.json$/i.test(path)) {
    try {
      value = JSON.parse(await readFile(absolute, "utf8"))
    } catch (error) {
      throw new Error(`cannot read the policy ${path}: ${(error as Error).message}`, { cause: error })
    }
  } else {
    const module = (await import(pathToFileURL(absolute).href)) as { default?: unknown; policy?: unknown }
    value = module.default ?? module.policy
    if (value === undefined) throw new Error(`the policy module ${path} has no default export`)
  }
  return isDefined(value) ? value : Policy.define(value as Policy.PolicyInput)
}
