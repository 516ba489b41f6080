import { createHash } from "node:crypto"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import * as Checkpoint from "../src/Checkpoint.js"
import * as MerkleLog from "../src/MerkleLog.js"
import * as Signer from "../src/Signer.js"

const keys = Signer.generatePem()
const other = Signer.generatePem()
const NAME = "consentkit/acme"
const checkpoint: Checkpoint.Checkpoint = {
  origin: NAME,
  size: 3,
  root: MerkleLog.rootFromLeaves([1, 2, 3].map((n) => MerkleLog.leafHash(new Uint8Array([n])))),
}

const signed = (pem = keys.privateKey, name = NAME) =>
  Effect.runPromise(
    Effect.flatMap(Signer.fromPrivateKeyPem(pem, name), (s) => Checkpoint.sign(checkpoint, s)),
  )
const open = (note: string, publicPem = keys.publicKey, name = NAME) =>
  Effect.runPromiseExit(Checkpoint.open(note, Signer.verifierFromPem(publicPem, name)))
const failureCode = (exit: Exit.Exit<unknown, Checkpoint.CheckpointInvalid>) =>
  Exit.isFailure(exit) ? JSON.stringify(exit.cause).match(/"code":"([A-Z_]+)"/)?.[1] : "ok"

describe("signed checkpoints (C2SP tlog-checkpoint / signed-note)", () => {
  it("formats the body as origin, size and base64 root, and signs it with an em-dash line", async () => {
    const note = await signed()
    const lines = note.split("\n")
    expect(lines.slice(0, 4)).toEqual([NAME, "3", Buffer.from(checkpoint.root).toString("base64"), ""])
    expect(lines[4]).toMatch(new RegExp(`^\u2014 ${NAME} [A-Za-z0-9+/]{91}=$`))
    expect(lines[5]).toBe("")
    const blob = Buffer.from(lines[4]!.split(" ")[2]!, "base64")
    const id = Signer.keyId(NAME, Signer.verifierFromPem(keys.publicKey, NAME).publicKey)
    expect([...blob.subarray(0, 4)]).toEqual([...id])
    expect(blob).toHaveLength(68)
  })

  it("the key id follows the signed-note rule SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4]", () => {
    const key = new Uint8Array(32).fill(7)
    const expected = createHash("sha256")
      .update(Buffer.concat([Buffer.from("k\n"), Buffer.from([1]), Buffer.from(key)]))
      .digest()
      .subarray(0, 4)
    expect([...Signer.keyId("k", key)]).toEqual([...expected])
  })

  it("opens with the public key alone", async () => {
    const exit = await open(await signed())
    expect(Exit.isSuccess(exit) && exit.value.size).toBe(3)
    expect(Exit.isSuccess(exit) && MerkleLog.equal(exit.value.root, checkpoint.root)).toBe(true)
  })

  it("an edited size, root or origin fails", async () => {
    const note = await signed()
    expect(failureCode(await open(note.replace("\n3\n", "\n4\n")))).toBe("BAD_SIGNATURE")
    const root = note.split("\n")[2]!
    const otherRoot = Buffer.from(MerkleLog.emptyRoot).toString("base64")
    expect(failureCode(await open(note.replace(root, otherRoot)))).toBe("BAD_SIGNATURE")
    expect(failureCode(await open(note.replace(`${NAME}\n3`, "consentkit/acmf\n3")))).toBe("BAD_SIGNATURE")
  })

  it("a changed signature byte fails", async () => {
    const note = await signed()
    const line = note.split("\n")[4]!
    const blob = Buffer.from(line.split(" ")[2]!, "base64")
    blob[40] = blob[40]! ^ 1
    const edited = note.replace(line, `\u2014 ${NAME} ${blob.toString("base64")}`)
    expect(failureCode(await open(edited))).toBe("BAD_SIGNATURE")
  })

  it("a checkpoint signed by another key fails, even under the same key name", async () => {
    expect(failureCode(await open(await signed(other.privateKey)))).toBe("NO_SIGNATURE")
  })

  it("a note that is not a checkpoint is refused as malformed", async () => {
    expect(failureCode(await open("hello\n"))).toBe("MALFORMED")
    expect(failureCode(await open(`${NAME}\nx\nroot\n\n\u2014 ${NAME} AAAA\n`))).toBe("MALFORMED")
  })

  it("checks the origin when asked", async () => {
    const verifier = Signer.verifierFromPem(keys.publicKey, NAME)
    const exit = await Effect.runPromiseExit(Checkpoint.open(await signed(), verifier, "consentkit/other"))
    expect(failureCode(exit)).toBe("WRONG_ORIGIN")
  })

  it("the signer layers read a PEM from the environment and refuse a missing one", async () => {
    process.env.CK_TEST_KEY = keys.privateKey.replace(/\n/g, "\\n")
    const signer = await Effect.runPromise(
      Effect.service(Signer.Signer).pipe(Effect.provide(Signer.layerEnv(NAME, "CK_TEST_KEY"))),
    )
    expect(signer.publicKey).toEqual(Signer.verifierFromPem(keys.publicKey, NAME).publicKey)
    const missing = await Effect.runPromiseExit(
      Effect.service(Signer.Signer).pipe(Effect.provide(Signer.layerEnv(NAME, "CK_TEST_KEY_UNSET"))),
    )
    expect(Exit.isFailure(missing)).toBe(true)
  })
})
