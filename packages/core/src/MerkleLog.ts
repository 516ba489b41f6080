/**
 * The Merkle tree of RFC 9162 §2.1 (Certificate Transparency v2), over a tenant's log entries:
 * leaf = SHA-256(0x00 ‖ entry), node = SHA-256(0x01 ‖ left ‖ right). A compact range (the roots
 * of the perfect subtrees left to right) appends a leaf in O(log n) and gives the root without
 * recomputation; inclusion and consistency proofs are built from perfect-subtree nodes and
 * checked with the hashes alone.
 *
 * @since 0.3.0
 */
import { sha256 } from "./internal/sha256.js"

/** A 32-byte SHA-256 hash. */
export type Hash = Uint8Array

/** The root of the empty tree: SHA-256 of nothing. */
export const emptyRoot: Hash = sha256(new Uint8Array(0))

/** The hash of a leaf: SHA-256(0x00 ‖ entry). */
export const leafHash = (entry: Uint8Array): Hash => {
  const bytes = new Uint8Array(entry.length + 1)
  bytes.set(entry, 1)
  return sha256(bytes)
}

/** The hash of an interior node: SHA-256(0x01 ‖ left ‖ right). */
export const nodeHash = (left: Hash, right: Hash): Hash => {
  const bytes = new Uint8Array(1 + left.length + right.length)
  bytes[0] = 1
  bytes.set(left, 1)
  bytes.set(right, 1 + left.length)
  return sha256(bytes)
}

/** Two hashes are the same bytes. */
export const equal = (a: Hash, b: Hash): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/** A tree of `size` leaves as the roots of its perfect subtrees, largest (leftmost) first. */
export interface CompactRange {
  readonly size: number
  readonly hashes: ReadonlyArray<Hash>
}

/** The compact range of the empty tree. */
export const emptyRange: CompactRange = { size: 0, hashes: [] }

/** A perfect subtree: `2^level` leaves starting at leaf `index * 2^level`. */
export interface NodeId {
  readonly level: number
  readonly index: number
}

/** A perfect node completed by an append: stores keep these to build proofs later. */
export interface CompletedNode extends NodeId {
  readonly hash: Hash
}

/**
 * Appends a leaf hash: O(log n) hashes, no recomputation. Returns the new range and the
 * perfect nodes the leaf completed (level 0 is the leaf itself).
 */
export const append = (
  range: CompactRange,
  leaf: Hash,
): { readonly range: CompactRange; readonly completed: ReadonlyArray<CompletedNode> } => {
  const hashes = [...range.hashes]
  const completed: Array<CompletedNode> = [{ level: 0, index: range.size, hash: leaf }]
  let hash = leaf
  let size = range.size
  let level = 0
  // Each trailing 1 bit of the old size is a perfect subtree of the same height to merge with.
  while (size % 2 === 1) {
    hash = nodeHash(hashes.pop()!, hash)
    size = Math.floor(size / 2)
    level += 1
    completed.push({ level, index: Math.floor(range.size / 2 ** level), hash })
  }
  hashes.push(hash)
  return { range: { size: range.size + 1, hashes }, completed }
}

/** The root hash of a compact range (RFC 9162 MTH). */
export const rootOf = (range: CompactRange): Hash => {
  if (range.hashes.length === 0) return emptyRoot
  let root = range.hashes[range.hashes.length - 1]!
  for (let i = range.hashes.length - 2; i >= 0; i--) root = nodeHash(range.hashes[i]!, root)
  return root
}

/** The perfect nodes a compact range of `size` consists of, left to right. */
export const rangeNodes = (size: number): ReadonlyArray<NodeId> => {
  const out: Array<NodeId> = []
  let start = 0
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level
    if (size - start >= width) {
      out.push({ level, index: start / width })
      start += width
    }
  }
  return out
}

/** Where perfect-subtree hashes come from: a store's node table, or leaves in memory. */
export type NodeSource = (level: number, index: number) => Hash

const largestPowerBelow = (n: number): number => {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

const isPowerOfTwo = (n: number): boolean => n > 0 && 2 ** Math.round(Math.log2(n)) === n

/** The MTH of leaves [lo, hi), where `lo` is aligned as the RFC's recursion aligns it. */
const subtree = (nodes: NodeSource, lo: number, hi: number): Hash => {
  const n = hi - lo
  if (n === 0) return emptyRoot
  if (isPowerOfTwo(n) && lo % n === 0) return nodes(Math.log2(n), lo / n)
  const k = largestPowerBelow(n)
  return nodeHash(subtree(nodes, lo, lo + k), subtree(nodes, lo + k, hi))
}

/** The root of a tree of `size` leaves from perfect-subtree hashes. */
export const rootFrom = (size: number, nodes: NodeSource): Hash => subtree(nodes, 0, size)

/** A NodeSource over leaf hashes held in memory (perfect nodes memoized). */
export const leavesSource = (leaves: ReadonlyArray<Hash>): NodeSource => {
  const memo = new Map<string, Hash>()
  const node: NodeSource = (level, index) => {
    if (level === 0) {
      const leaf = leaves[index]
      if (!leaf) throw new RangeError(`no leaf ${index}`)
      return leaf
    }
    const key = `${level}/${index}`
    const known = memo.get(key)
    if (known) return known
    const hash = nodeHash(node(level - 1, index * 2), node(level - 1, index * 2 + 1))
    memo.set(key, hash)
    return hash
  }
  return node
}

/** The root of a list of leaf hashes. */
export const rootFromLeaves = (leaves: ReadonlyArray<Hash>): Hash =>
  rootFrom(leaves.length, leavesSource(leaves))

/** The audit path of leaf `index` in a tree of `size` leaves (RFC 9162 §2.1.3.1), nearest first. */
export const inclusionProof = (index: number, size: number, nodes: NodeSource): Array<Hash> => {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`)
  const path = (m: number, lo: number, hi: number): Array<Hash> => {
    const n = hi - lo
    if (n <= 1) return []
    const k = largestPowerBelow(n)
    return m - lo < k
      ? [...path(m, lo, lo + k), subtree(nodes, lo + k, hi)]
      : [...path(m, lo + k, hi), subtree(nodes, lo, lo + k)]
  }
  return path(index, 0, size)
}

/** The consistency proof from a tree of `from` leaves to one of `to` (RFC 9162 §2.1.4.1). */
export const consistencyProof = (from: number, to: number, nodes: NodeSource): Array<Hash> => {
  if (!(from >= 0 && from <= to)) throw new RangeError(`no consistency proof from ${from} to ${to}`)
  if (from === 0 || from === to) return []
  const sub = (m: number, lo: number, hi: number, whole: boolean): Array<Hash> => {
    const n = hi - lo
    if (m === n) return whole ? [] : [subtree(nodes, lo, hi)]
    const k = largestPowerBelow(n)
    return m <= k
      ? [...sub(m, lo, lo + k, whole), subtree(nodes, lo + k, hi)]
      : [...sub(m - k, lo + k, hi, false), subtree(nodes, lo, lo + k)]
  }
  return sub(from, 0, to, true)
}

/** The perfect nodes a computation reads: run it once with this to know what to fetch. */
export const nodesNeeded = (compute: (nodes: NodeSource) => unknown): ReadonlyArray<NodeId> => {
  const seen = new Map<string, NodeId>()
  compute((level, index) => {
    seen.set(`${level}/${index}`, { level, index })
    return emptyRoot
  })
  return [...seen.values()]
}

const odd = (n: number) => n % 2 === 1
const half = (n: number) => Math.floor(n / 2)

/** Checks an inclusion proof against a root (RFC 9162 §2.1.3.2). */
export const verifyInclusion = (
  index: number,
  size: number,
  leaf: Hash,
  proof: ReadonlyArray<Hash>,
  root: Hash,
): boolean => {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r)
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn)
          sn = half(sn)
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = half(fn)
    sn = half(sn)
  }
  return sn === 0 && equal(r, root)
}

/** Checks a consistency proof between two roots (RFC 9162 §2.1.4.2). */
export const verifyConsistency = (
  from: number,
  to: number,
  fromRoot: Hash,
  toRoot: Hash,
  proof: ReadonlyArray<Hash>,
): boolean => {
  if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from >= 0 && from <= to)) return false
  if (from === 0) return proof.length === 0
  if (from === to) return proof.length === 0 && equal(fromRoot, toRoot)
  if (proof.length === 0) return false
  const path = isPowerOfTwo(from) ? [fromRoot, ...proof] : [...proof]
  let fn = from - 1
  let sn = to - 1
  while (odd(fn)) {
    fn = half(fn)
    sn = half(sn)
  }
  let fr = path[0]!
  let sr = path[0]!
  for (const c of path.slice(1)) {
    if (sn === 0) return false
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr)
      sr = nodeHash(c, sr)
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn)
          sn = half(sn)
        }
      }
    } else {
      sr = nodeHash(sr, c)
    }
    fn = half(fn)
    sn = half(sn)
  }
  return equal(fr, fromRoot) && equal(sr, toRoot) && sn === 0
}
