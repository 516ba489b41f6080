import { describe, expect, it } from "vitest"
import {
  type Choice,
  DEFAULT_MAPPING,
  defaultCommands,
  fromChoices,
  mapping,
  measurementProtocolConsent,
  toScript,
  updateCommand,
  withCategories,
} from "../src/index.js"

const choices = (analytics: boolean, marketing: boolean): Array<Choice> => [
  { purpose: "analytics", allowed: analytics, categories: ["analytics"] },
  { purpose: "marketing", allowed: marketing, categories: ["advertising"] },
  { purpose: "marketing.email", allowed: true, categories: [] },
]

describe("fromChoices", () => {
  it("maps analytics and advertising by tracker category", () => {
    expect(fromChoices(choices(true, false))).toEqual({
      ad_storage: "denied",
      ad_user_data: "denied",
      ad_personalization: "denied",
      analytics_storage: "granted",
      functionality_storage: "denied",
      personalization_storage: "denied",
      security_storage: "granted",
    })
    const all = fromChoices(choices(true, true))
    expect([all.ad_storage, all.ad_user_data, all.ad_personalization]).toEqual([
      "granted",
      "granted",
      "granted",
    ])
  })

  it("denies a type when any purpose governing it refuses", () => {
    const state = fromChoices([
      ...choices(true, true),
      { purpose: "retargeting", allowed: false, categories: ["advertising"] },
    ])
    expect(state.ad_storage).toBe("denied")
  })

  it("follows a configured mapping by purpose id or fixed value", () => {
    const custom = mapping({
      functionality_storage: "granted",
      personalization_storage: { purposes: ["marketing.email"] },
    })
    const state = fromChoices(choices(false, false), custom)
    expect(state.functionality_storage).toBe("granted")
    expect(state.personalization_storage).toBe("granted")
    expect(state.analytics_storage).toBe("denied")
  })

  it("reads categories from a policy", () => {
    const policy = { purposes: new Map([["analytics", { trackerCategories: ["analytics"] }]]) }
    expect(withCategories([{ purpose: "analytics", allowed: true }], policy)).toEqual([
      { purpose: "analytics", allowed: true, categories: ["analytics"] },
    ])
  })
})

describe("gtag commands", () => {
  it("defaults: denied in the EEA, UK and Thailand, granted in the US with wait_for_update, security always granted", () => {
    const [eea, us, rest] = defaultCommands()
    expect(eea![2].region).toEqual(expect.arrayContaining(["DE", "FR", "GB", "NO", "TH"]))
    expect(eea![2].analytics_storage).toBe("denied")
    expect(eea![2].ad_user_data).toBe("denied")
    expect(eea![2].security_storage).toBe("granted")
    expect(us![2]).toMatchObject({
      region: ["US"],
      ad_storage: "granted",
      analytics_storage: "granted",
      wait_for_update: 500,
    })
    expect(rest![2].region).toBeUndefined()
    expect(rest![2].ad_storage).toBe("denied")
  })

  it("update carries all seven types", () => {
    const [, kind, params] = updateCommand(choices(true, false))
    expect(kind).toBe("update")
    expect(Object.keys(params).sort()).toEqual(Object.keys(DEFAULT_MAPPING).sort())
  })

  it("writes a script that cannot close its element", () => {
    const script = toScript([["consent", "update", { analytics_storage: "granted", region: ["</script>"] }]])
    expect(script).toContain('gtag("consent","update",')
    expect(script).not.toContain("</script>")
  })

  it("gives the Measurement Protocol consent field", () => {
    expect(measurementProtocolConsent(fromChoices(choices(true, true)))).toEqual({
      ad_user_data: "GRANTED",
      ad_personalization: "GRANTED",
    })
  })
})
