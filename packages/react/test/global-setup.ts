import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { TestProject } from "vitest/node"

declare module "vitest" {
  export interface ProvidedContext {
    consentOrigin: string
  }
}

/** Starts `serve.ts` (the real handler) in a Node process of its own, reading workspace packages from source. */
export default async function setup(project: TestProject) {
  const child = spawn(
    process.execPath,
    [
      "--conditions=@consentkit/source",
      "--import",
      "tsx",
      fileURLToPath(new URL("./serve.ts", import.meta.url)),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  )
  const origin = await new Promise<string>((resolve, reject) => {
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8")
      const line = out.match(/^(http:\/\/\S+)\n/)
      if (line) resolve(line[1]!)
    })
    child.once("exit", (code) => reject(new Error(`the test server exited (${code})`)))
  })
  project.provide("consentOrigin", origin)
  return () => {
    child.kill()
  }
}
