/**
 * The banner's and preference center's own words, in Thai and English, and how a locale is chosen:
 * the element's `lang` attribute, then `<html lang>`, then the browser's languages.
 *
 * @since 0.1.0
 */
import type { Localized, Reason } from "./Model.js"

/** The locales the elements speak. */
export type Locale = "th" | "en"

/** Every text the elements show. `{brand}`, `{n}` and `{list}` are filled in. */
export interface Texts {
  readonly bannerTitle: string
  readonly bannerText: string
  readonly acceptAll: string
  readonly rejectAll: string
  readonly choose: string
  readonly preferencesTitle: string
  readonly preferencesIntro: string
  readonly save: string
  readonly close: string
  readonly alwaysOn: string
  readonly gpcNote: string
  readonly saved: string
  readonly failed: string
  readonly switchLanguage: string
  readonly policyLink: string
  readonly noticeVersion: string
  readonly identified: string
  readonly reasons: Readonly<Partial<Record<Reason, string>>>
}

/** The built-in texts. */
export const TEXTS: Readonly<Record<Locale, Texts>> = {
  en: {
    bannerTitle: "Your privacy at {brand}",
    bannerText:
      "We use cookies and similar technologies to run the shop, to understand how it is used and, if you allow it, to send you offers. Choose what you allow; you can change it at any time in the privacy settings.",
    acceptAll: "Accept all",
    rejectAll: "Reject all",
    choose: "Choose",
    preferencesTitle: "Privacy settings",
    preferencesIntro:
      "Choose what {brand} may do. Each choice is recorded with the version of the notice you saw, and you can change it at any time.",
    save: "Save choices",
    close: "Close",
    alwaysOn: "Always on",
    gpcNote: "Your browser sent a Global Privacy Control signal, so we keep this off: {list}.",
    saved: "Your choices were saved.",
    failed: "Your choices could not be saved. Please try again.",
    switchLanguage: "ภาษาไทย",
    policyLink: "Privacy notice",
    noticeVersion: "Notice version {n}",
    identified: "These choices apply to your account.",
    reasons: {
      outdated_version: "Our notice changed: please choose again.",
      expired: "Your earlier choice has expired: please choose again.",
      gpc_opt_out: "Off because of your browser's Global Privacy Control signal.",
      parent_withdrawn: "Off because the group above is off.",
      channel_withdrawn: "Off on a channel you turned off.",
      guardian_required: "A parent or guardian must allow this.",
    },
  },
  th: {
    bannerTitle: "ความเป็นส่วนตัวของคุณที่ {brand}",
    bannerText:
      "เราใช้คุกกี้และเทคโนโลยีที่คล้ายกันเพื่อให้ร้านค้าทำงานได้ เพื่อเข้าใจการใช้งาน และเพื่อส่งข้อเสนอพิเศษเมื่อคุณอนุญาต คุณเลือกได้ว่าจะอนุญาตสิ่งใด และเปลี่ยนได้ทุกเมื่อในการตั้งค่าความเป็นส่วนตัว",
    acceptAll: "ยอมรับทั้งหมด",
    rejectAll: "ปฏิเสธทั้งหมด",
    choose: "เลือกเอง",
    preferencesTitle: "ตั้งค่าความเป็นส่วนตัว",
    preferencesIntro: "เลือกสิ่งที่ {brand} ทำได้ เราบันทึกการเลือกแต่ละครั้งพร้อมฉบับของประกาศที่คุณเห็น และคุณเปลี่ยนได้ทุกเมื่อ",
    save: "บันทึกการเลือก",
    close: "ปิด",
    alwaysOn: "เปิดใช้งานเสมอ",
    gpcNote: "เบราว์เซอร์ของคุณส่งสัญญาณ Global Privacy Control เราจึงไม่เปิดใช้: {list}",
    saved: "บันทึกการเลือกของคุณแล้ว",
    failed: "บันทึกการเลือกไม่สำเร็จ โปรดลองอีกครั้ง",
    switchLanguage: "English",
    policyLink: "ประกาศความเป็นส่วนตัว",
    noticeVersion: "ประกาศฉบับที่ {n}",
    identified: "การเลือกนี้ใช้กับบัญชีของคุณ",
    reasons: {
      outdated_version: "ประกาศของเรามีการเปลี่ยนแปลง โปรดเลือกอีกครั้ง",
      expired: "การเลือกครั้งก่อนหมดอายุแล้ว โปรดเลือกอีกครั้ง",
      gpc_opt_out: "ปิดอยู่ตามสัญญาณ Global Privacy Control ของเบราว์เซอร์",
      parent_withdrawn: "ปิดอยู่เพราะหมวดหลักปิดอยู่",
      channel_withdrawn: "ปิดอยู่ในช่องทางที่คุณปิดไว้",
      guardian_required: "ต้องได้รับความยินยอมจากผู้ปกครอง",
    },
  },
}

/** Reads a language tag as one of the elements' locales, or null (`th-TH` → `th`, `en-GB` → `en`). */
export const asLocale = (tag: string | null | undefined): Locale | null => {
  const base = tag?.trim().toLowerCase().split(/[-_]/)[0]
  return base === "th" || base === "en" ? base : null
}

/** The first supported locale among the candidates, in order; English when none is. */
export const pickLocale = (...candidates: ReadonlyArray<string | null | undefined>): Locale => {
  for (const c of candidates) {
    const locale = asLocale(c)
    if (locale) return locale
  }
  return "en"
}

/** A localized text in a locale, falling back to English. */
export const localize = (text: Localized | null | undefined, locale: Locale): string =>
  text ? (locale === "th" ? (text.th ?? text.en) : text.en) : ""

/** Fills `{name}` placeholders. */
export const fill = (template: string, values: Readonly<Record<string, string | number>>): string =>
  template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole))
