import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { VendorList } from "@consentkit/iab"
import { afterAll, beforeAll, expect, it } from "vitest"
import { vendorList } from "./fixtures.js"

// A local server standing in for the host's copy of the published list.
let requests = 0
let answer: { status: number; body: string } = { status: 200, body: JSON.stringify(vendorList) }
const server = createServer((_req, res) => {
  requests++
  res.writeHead(answer.status, { "content-type": "application/json" })
  res.end(answer.body)
})
let url = ""
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gvl/v3/vendor-list.json`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

it("loads the list once, serves it from cache until it is stale, and keeps the last good list when a refresh fails", async () => {
  requests = 0
  answer = { status: 200, body: JSON.stringify(vendorList) }
  let clock = 0
  const load = VendorList.fromUrl(url, { maxAgeMs: 1000, now: () => clock })
  const [a, b] = await Promise.all([load(), load()])
  expect(a.vendorListVersion).toBe(142)
  expect(b).toBe(a)
  expect(requests).toBe(1)
  clock = 999
  await load()
  expect(requests).toBe(1)
  clock = 1000
  answer = { status: 200, body: JSON.stringify({ ...vendorList, vendorListVersion: 143 }) }
  expect((await load()).vendorListVersion).toBe(143)
  expect(requests).toBe(2)
  clock = 2500
  answer = { status: 503, body: "{}" }
  expect((await load()).vendorListVersion).toBe(143)
  expect(requests).toBe(3)
})

it("fails with a VendorListError when the first load fails or the JSON is not a GVL v3", async () => {
  answer = { status: 404, body: "{}" }
  await expect(VendorList.fromUrl(url)()).rejects.toThrow(/answered 404/)
  answer = { status: 200, body: JSON.stringify({ ...vendorList, gvlSpecificationVersion: 2 }) }
  await expect(VendorList.fromUrl(url)()).rejects.toThrow(VendorList.VendorListError)
  await expect(VendorList.fromUrl("http://127.0.0.1:1/nothing")()).rejects.toThrow(VendorList.VendorListError)
})
