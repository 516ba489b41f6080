/**
 * Siam Tea Co.'s consent policy. Notice dates are counted back from the shop's launch anchor (kept
 * in the database), so a demo seeded today has a year of history under the same notices as one
 * seeded last month: analytics and advertising under one notice, a marketing parent with email and
 * LINE children, and a material second notice for email offers five months ago (personalised
 * offers from purchase history), which invalidated earlier email grants until customers re-consent.
 */
import { createHash } from "node:crypto"
import { Policy } from "@consentkit/core"

const DAY = 86_400_000

/** The notice texts customers are shown, per purpose and version. */
const NOTICES = {
  necessary: {
    en: "We use your account, cart and order details to sell and deliver your tea.",
    th: "เราใช้ข้อมูลบัญชี ตะกร้าสินค้า และคำสั่งซื้อของคุณเพื่อขายและจัดส่งชาให้คุณ",
  },
  analytics: {
    en: "We count page and product views to learn which teas people look for. Events go to our analytics provider under your visitor id.",
    th: "เรานับการเข้าชมหน้าและสินค้าเพื่อดูว่าลูกค้าสนใจชาชนิดใด ข้อมูลจะส่งไปยังผู้ให้บริการวิเคราะห์ของเราภายใต้รหัสผู้เข้าชมของคุณ",
  },
  advertising: {
    en: "Ad partners may use your visits to show you Siam Tea ads on other sites.",
    th: "พันธมิตรด้านโฆษณาอาจใช้ข้อมูลการเข้าชมของคุณเพื่อแสดงโฆษณาของชาสยามบนเว็บไซต์อื่น",
  },
  marketing: {
    en: "We may send you news and offers about our teas.",
    th: "เราอาจส่งข่าวสารและข้อเสนอเกี่ยวกับชาของเราให้คุณ",
  },
  emailV1: {
    en: "Our monthly newsletter with new teas and seasonal offers, by email.",
    th: "จดหมายข่าวรายเดือนทางอีเมล แนะนำชาใหม่และข้อเสนอตามฤดูกาล",
  },
  emailV2: {
    en: "Our monthly newsletter by email, with offers chosen from your purchase history.",
    th: "จดหมายข่าวรายเดือนทางอีเมล พร้อมข้อเสนอที่เลือกจากประวัติการซื้อของคุณ",
  },
  line: {
    en: "Offers and restock alerts from our LINE Official Account.",
    th: "ข้อเสนอและการแจ้งเตือนสินค้าเข้าใหม่จาก LINE Official Account ของเรา",
  },
} as const

const hash = (text: { en: string; th: string }) =>
  `sha256:${createHash("sha256").update(`${text.en}\n${text.th}`).digest("hex")}`

const version = (n: number, effectiveAt: Date, text: { en: string; th: string }, material = true) => ({
  version: n,
  effectiveAt,
  textHash: hash(text),
  material,
  text,
})

/** The notice dates of a policy anchored at `anchor` (the shop's launch in this database). */
export const noticeDates = (anchor: Date) => ({
  v1: new Date(anchor.getTime() - 400 * DAY),
  emailV2: new Date(anchor.getTime() - 150 * DAY),
})

/** The policy for a shop whose database was first started at `anchor`. */
export const shopPolicy = (anchor: Date) => {
  const { v1, emailV2 } = noticeDates(anchor)
  return Policy.define({
    controller: {
      name: "Siam Tea Co. (ชาสยาม)",
      contact: "Data Protection Officer",
      email: "dpo@siamtea.example",
      phone: "+66 2 000 0000",
      address: { streetAddress: "99 Charoen Krung Road", addressLocality: "Bangkok", addressCountry: "TH" },
      url: "https://siamtea.example",
    },
    // Relative, so the banner's link works on whatever port the demo runs.
    policyUrl: "/privacy",
    defaultJurisdiction: "TH",
    // The brand honours Global Privacy Control in Thailand too, beside the US states whose laws require it.
    gpcJurisdictions: [...Policy.GPC_JURISDICTIONS, "TH"],
    purposes: {
      necessary: {
        title: { en: "Running the shop", th: "การให้บริการร้านค้า" },
        description: NOTICES.necessary,
        lawfulBasis: "contract",
        versions: [version(1, v1, NOTICES.necessary)],
      },
      analytics: {
        title: { en: "Shop analytics", th: "การวิเคราะห์การใช้งานร้านค้า" },
        description: NOTICES.analytics,
        versions: [version(1, v1, NOTICES.analytics)],
        lifetime: { months: 13 },
        trackerCategories: ["analytics"],
        // IAB TCF: store on the device, measure content, audience statistics, develop the service.
        iab: { tcfPurposes: [1, 8, 9, 10] },
        piiCategories: ["online identifier", "browsing behaviour"],
        thirdParty: "Analytics provider (PostHog-compatible)",
      },
      advertising: {
        title: { en: "Ads on other sites", th: "โฆษณาบนเว็บไซต์อื่น" },
        description: NOTICES.advertising,
        versions: [version(1, v1, NOTICES.advertising)],
        lifetime: { months: 13 },
        gpc: true,
        trackerCategories: ["advertising"],
        // IAB TCF: store on the device, select ads, ad profiles, personalised ads, measure ads.
        iab: { tcfPurposes: [1, 2, 3, 4, 7] },
        thirdParty: "Advertising partners",
      },
      marketing: {
        title: { en: "News and offers", th: "ข่าวสารและข้อเสนอ" },
        description: NOTICES.marketing,
        versions: [version(1, v1, NOTICES.marketing)],
      },
      "marketing.email": {
        title: { en: "Newsletter by email", th: "จดหมายข่าวทางอีเมล" },
        description: NOTICES.emailV2,
        versions: [version(1, v1, NOTICES.emailV1), version(2, emailV2, NOTICES.emailV2)],
        channels: ["email"],
        piiCategories: ["email address", "purchase history"],
      },
      "marketing.line": {
        title: { en: "Messages on LINE", th: "ข้อความทาง LINE" },
        description: NOTICES.line,
        versions: [version(1, v1, NOTICES.line)],
        channels: ["line"],
        piiCategories: ["LINE user id"],
      },
    },
  })
}

/** The shop's policy type. */
export type ShopPolicy = ReturnType<typeof shopPolicy>
/** The shop's purpose ids. */
export type ShopPurpose = ShopPolicy["purposeIds"][number]
/** The tenant id of the demo brand. */
export const TENANT = "siamtea"
