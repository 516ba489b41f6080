import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import { fromHex, sha256, sha256Js, toHex } from "../src/internal/sha256.js"
import * as MerkleLog from "../src/MerkleLog.js"

// The test vectors of the Certificate Transparency reference implementation (RFC 6962/9162 hashing).
const INPUTS = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
]
const ROOTS = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
const leaves = INPUTS.map((h) => MerkleLog.leafHash(fromHex(h)))
const hex = (hashes: ReadonlyArray<Uint8Array>) => hashes.map(toHex)

const grow = (hashes: ReadonlyArray<Uint8Array>) => {
  let range = MerkleLog.emptyRange
  const ranges = [range]
  for (const leaf of hashes) {
    range = MerkleLog.append(range, leaf).range
    ranges.push(range)
  }
  return ranges
}

describe("RFC 9162 hashing", () => {
  it("the empty tree's root is SHA-256 of nothing", () => {
    expect(toHex(MerkleLog.emptyRoot)).toBe(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    )
  })

  it("the pure-JS SHA-256 agrees with node:crypto", () => {
    for (const n of [0, 1, 55, 56, 63, 64, 65, 1000]) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 31 + n) & 255)
      expect(toHex(sha256Js(bytes))).toBe(toHex(sha256(bytes)))
    }
  })

  it("matches the reference roots for 1..8 leaves, by compact range and by leaves", () => {
    const ranges = grow(leaves)
    for (let n = 1; n <= 8; n++) {
      expect(toHex(MerkleLog.rootOf(ranges[n]!))).toBe(ROOTS[n - 1])
      expect(toHex(MerkleLog.rootFromLeaves(leaves.slice(0, n)))).toBe(ROOTS[n - 1])
    }
    expect(ranges[7]!.hashes).toHaveLength(3)
  })

  it("matches the reference inclusion proofs", () => {
    const nodes = MerkleLog.leavesSource(leaves)
    expect(hex(MerkleLog.inclusionProof(0, 8, nodes))).toEqual([
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ])
    expect(hex(MerkleLog.inclusionProof(5, 8, nodes))).toEqual([
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ])
    expect(MerkleLog.inclusionProof(0, 1, nodes)).toEqual([])
  })

  it("matches the reference consistency proofs", () => {
    const nodes = MerkleLog.leavesSource(leaves)
    expect(hex(MerkleLog.consistencyProof(1, 8, nodes))).toEqual([
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ])
    expect(hex(MerkleLog.consistencyProof(6, 8, nodes))).toEqual([
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ])
    expect(hex(MerkleLog.consistencyProof(2, 5, nodes))).toEqual([
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ])
  })

  it("append reports every perfect node it completes, and they are the tree's nodes", () => {
    let range = MerkleLog.emptyRange
    const stored = new Map<string, string>()
    for (const leaf of leaves) {
      const step = MerkleLog.append(range, leaf)
      range = step.range
      for (const n of step.completed) stored.set(`${n.level}/${n.index}`, toHex(n.hash))
    }
    expect(stored.size).toBe(8 + 4 + 2 + 1)
    expect(stored.get("3/0")).toBe(ROOTS[7])
    const fromStore = (level: number, index: number) => fromHex(stored.get(`${level}/${index}`)!)
    expect(toHex(MerkleLog.rootFrom(7, fromStore))).toBe(ROOTS[6])
    expect(MerkleLog.rangeNodes(7)).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ])
    expect(MerkleLog.nodesNeeded((nodes) => MerkleLog.rootFrom(6, nodes))).toEqual([
      { level: 2, index: 0 },
      { level: 1, index: 2 },
    ])
  })
})

const flip = (hash: Uint8Array, at: number) => {
  const out = new Uint8Array(hash)
  out[at % out.length] = out[at % out.length]! ^ 1
  return out
}

const tree = fc
  .array(fc.uint8Array({ maxLength: 12 }), { minLength: 1, maxLength: 70 })
  .map((entries) => entries.map(MerkleLog.leafHash))

describe("proofs (properties)", () => {
  test.prop([tree, fc.nat(), fc.nat()])(
    "every inclusion proof verifies; a changed byte fails",
    (ls, i, at) => {
      const index = i % ls.length
      const nodes = MerkleLog.leavesSource(ls)
      const root = MerkleLog.rootFromLeaves(ls)
      const proof = MerkleLog.inclusionProof(index, ls.length, nodes)
      expect(MerkleLog.verifyInclusion(index, ls.length, ls[index]!, proof, root)).toBe(true)
      expect(MerkleLog.verifyInclusion(index, ls.length, flip(ls[index]!, at), proof, root)).toBe(false)
      expect(MerkleLog.verifyInclusion(index, ls.length, ls[index]!, proof, flip(root, at))).toBe(false)
      if (proof.length > 0) {
        const bad = proof.map((p, k) => (k === at % proof.length ? flip(p, at) : p))
        expect(MerkleLog.verifyInclusion(index, ls.length, ls[index]!, bad, root)).toBe(false)
      }
    },
  )

  test.prop([tree, fc.nat(), fc.nat(), fc.nat()])(
    "every consistency proof verifies; a changed byte or a rewritten leaf fails",
    (ls, a, b, at) => {
      const to = (a % ls.length) + 1
      const from = (b % to) + 1
      const nodes = MerkleLog.leavesSource(ls)
      const oldRoot = MerkleLog.rootFromLeaves(ls.slice(0, from))
      const newRoot = MerkleLog.rootFromLeaves(ls.slice(0, to))
      const proof = MerkleLog.consistencyProof(from, to, nodes)
      expect(MerkleLog.verifyConsistency(from, to, oldRoot, newRoot, proof)).toBe(true)
      expect(MerkleLog.verifyConsistency(from, to, flip(oldRoot, at), newRoot, proof)).toBe(false)
      expect(MerkleLog.verifyConsistency(from, to, oldRoot, flip(newRoot, at), proof)).toBe(false)
      if (proof.length > 0) {
        const bad = proof.map((p, k) => (k === at % proof.length ? flip(p, at) : p))
        expect(MerkleLog.verifyConsistency(from, to, oldRoot, newRoot, bad)).toBe(false)
      }
      // A history rewritten before `from` is not consistent with the old root.
      const rewritten = ls.map((l, k) => (k === at % from ? flip(l, at) : l))
      const rewrittenRoot = MerkleLog.rootFromLeaves(rewritten.slice(0, to))
      const forged = MerkleLog.consistencyProof(from, to, MerkleLog.leavesSource(rewritten))
      expect(MerkleLog.verifyConsistency(from, to, oldRoot, rewrittenRoot, forged)).toBe(false)
    },
  )

  test.prop([tree])("the compact range's root equals the full recomputation at every size", (ls) => {
    const ranges = grow(ls)
    for (let n = 0; n <= ls.length; n++)
      expect(toHex(MerkleLog.rootOf(ranges[n]!))).toBe(toHex(MerkleLog.rootFromLeaves(ls.slice(0, n))))
  })
})
