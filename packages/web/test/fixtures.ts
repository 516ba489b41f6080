import type { PreferencesModel, PurposeModel, Reason } from "../src/Model.js"

/** A purpose as the server describes it, with a choice. */
export const purpose = (
  id: string,
  reason: Reason,
  extra: Partial<Omit<PurposeModel, "choice">> & { choiceVersion?: number | null } = {},
): PurposeModel => {
  const { choiceVersion, ...rest } = extra
  const allowed = reason === "granted" || reason === "not_required" || reason === "opt_out_default"
  return {
    id,
    parent: id.includes(".") ? id.slice(0, id.lastIndexOf(".")) : null,
    title: { en: id, th: `th:${id}` },
    description: null,
    lawfulBasis: "consent",
    required: false,
    noticeVersion: 1,
    textHash: `hash-${id}`,
    text: null,
    channels: [],
    trackerCategories: [],
    choice: {
      allowed,
      reason,
      noticeVersion: choiceVersion !== undefined ? choiceVersion : reason === "no_consent" ? null : 1,
    },
    ...rest,
  }
}

/** A preference-center model over purposes. */
export const model = (purposes: ReadonlyArray<PurposeModel>): PreferencesModel => ({
  locale: "en",
  identified: false,
  controller: { name: "Siam Tea", email: "dpo@siamtea.example", url: null },
  policyUrl: "https://siamtea.example/privacy",
  purposes,
  consentMode: { analytics_storage: "denied", security_storage: "granted" },
})
