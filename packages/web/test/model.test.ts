import { describe, expect, it } from "vitest"
import {
  acceptAll,
  ancestorsOf,
  channelDecisionsFor,
  channelKey,
  decisionsFor,
  gpcPurposes,
  gpcRefusals,
  needsAnswer,
  rejectAll,
} from "../src/Model.js"
import { model, purpose } from "./fixtures.js"

const necessary = purpose("necessary", "not_required", { required: true, lawfulBasis: "contract" })

describe("needsAnswer", () => {
  it("asks while a choosable purpose has no valid answer, never for required ones", () => {
    expect(needsAnswer(model([necessary, purpose("analytics", "no_consent")]))).toBe(true)
    expect(needsAnswer(model([necessary, purpose("analytics", "outdated_version")]))).toBe(true)
    expect(needsAnswer(model([necessary, purpose("analytics", "expired")]))).toBe(true)
    expect(needsAnswer(model([necessary, purpose("analytics", "denied")]))).toBe(false)
    expect(needsAnswer(model([necessary, purpose("analytics", "granted")]))).toBe(false)
    expect(needsAnswer(model([necessary]))).toBe(false)
  })
})

describe("acceptAll and rejectAll", () => {
  const m = model([
    necessary,
    purpose("analytics", "no_consent", { noticeVersion: 2 }),
    purpose("advertising", "no_consent", { trackerCategories: ["advertising"] }),
    purpose("marketing", "granted"),
    purpose("marketing.email", "outdated_version", { noticeVersion: 2 }),
  ])

  it("grants every choosable purpose under the notice in force, skipping what is already granted under it", () => {
    expect(acceptAll(m)).toEqual([
      { purpose: "analytics", action: "grant", noticeVersion: 2 },
      { purpose: "advertising", action: "grant", noticeVersion: 1 },
      { purpose: "marketing.email", action: "grant", noticeVersion: 2 },
    ])
  })

  it("never grants the purposes a GPC signal refuses", () => {
    expect(acceptAll(m, ["advertising"]).map((d) => `${d.action} ${d.purpose}`)).toEqual([
      "grant analytics",
      "deny advertising",
      "grant marketing.email",
    ])
  })

  it("withdraws what was granted and refuses what was never answered", () => {
    expect(rejectAll(m)).toEqual([
      { purpose: "analytics", action: "deny", noticeVersion: 2 },
      { purpose: "advertising", action: "deny", noticeVersion: 1 },
      { purpose: "marketing", action: "withdraw" },
      { purpose: "marketing.email", action: "deny", noticeVersion: 2 },
    ])
  })
})

describe("decisionsFor", () => {
  it("records only what the form changes", () => {
    const m = model([
      purpose("analytics", "granted"),
      purpose("marketing", "granted"),
      purpose("marketing.email", "granted"),
      purpose("advertising", "denied"),
    ])
    expect(decisionsFor(m, new Set(["analytics"]))).toEqual([
      { purpose: "marketing", action: "withdraw" },
      { purpose: "marketing.email", action: "withdraw" },
    ])
    expect(decisionsFor(m, new Set(["analytics", "marketing", "marketing.email", "advertising"]))).toEqual([
      { purpose: "advertising", action: "grant", noticeVersion: 1 },
    ])
  })

  it("re-grants a purpose whose grant was under an older notice", () => {
    const m = model([purpose("analytics", "granted", { noticeVersion: 2, choiceVersion: 1 })])
    expect(decisionsFor(m, new Set(["analytics"]))).toEqual([
      { purpose: "analytics", action: "grant", noticeVersion: 2 },
    ])
  })

  it("does not refuse a child again when its parent's refusal already covers it", () => {
    const m = model([purpose("marketing", "withdrawn"), purpose("marketing.email", "parent_withdrawn")])
    expect(decisionsFor(m, new Set())).toEqual([])
  })
})

describe("GPC", () => {
  const m = model([
    purpose("analytics", "no_consent", { trackerCategories: ["analytics"] }),
    purpose("advertising", "no_consent", { trackerCategories: ["advertising"] }),
    purpose("sharing", "opt_out_default"),
  ])

  it("covers the advertising purposes by default, or the listed ones", () => {
    expect(gpcPurposes(m)).toEqual(["advertising"])
    expect(gpcPurposes(m, ["sharing", "advertising"])).toEqual(["advertising", "sharing"])
  })

  it("refuses covered purposes that are unanswered or on by default, and leaves explicit answers alone", () => {
    expect(gpcRefusals(m, ["advertising", "sharing"])).toEqual([
      { purpose: "advertising", action: "deny", noticeVersion: 1 },
      { purpose: "sharing", action: "deny", noticeVersion: 1 },
    ])
    const answered = model([purpose("advertising", "granted", { trackerCategories: ["advertising"] })])
    expect(gpcRefusals(answered, ["advertising"])).toEqual([])
  })
})

it("ancestorsOf walks parents nearest first", () => {
  const m = model([
    purpose("marketing", "granted"),
    purpose("marketing.email", "granted"),
    purpose("marketing.email.promo", "granted"),
  ])
  expect(ancestorsOf(m, "marketing.email.promo")).toEqual(["marketing.email", "marketing"])
  expect(ancestorsOf(m, "marketing")).toEqual([])
})

describe("channelDecisionsFor", () => {
  const marketing = purpose("marketing", "granted", {
    channels: ["email", "line", "sms"],
    channelChoices: [
      { channel: "email", allowed: true, reason: "granted" },
      { channel: "line", allowed: false, reason: "channel_withdrawn" },
      { channel: "sms", allowed: true, reason: "granted" },
    ],
  })
  const m = model([marketing, purpose("analytics", "granted")])

  it("withdraws a channel turned off, reopens one closed alone when turned back on, leaves the rest", () => {
    expect(channelDecisionsFor(m, new Set(["marketing"]), new Set([channelKey("marketing", "sms")]))).toEqual(
      [
        { purpose: "marketing", channel: "line", action: "grant", noticeVersion: 1 },
        { purpose: "marketing", channel: "sms", action: "withdraw" },
      ],
    )
    expect(
      channelDecisionsFor(m, new Set(["marketing"]), new Set([channelKey("marketing", "line")])),
    ).toEqual([])
  })

  it("records no channel for a purpose turned off as a whole", () => {
    expect(channelDecisionsFor(m, new Set(), new Set([channelKey("marketing", "sms")]))).toEqual([])
  })
})
