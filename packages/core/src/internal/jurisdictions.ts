/** Tables of law by jurisdiction that `Policy` uses for its defaults (re-exported from `Policy`). */

/** GDPR Art. 8 digital age of consent per member state (16 unless the state chose 13 to 15). */
export const GDPR_DIGITAL_CONSENT_AGE: Readonly<Record<string, number>> = {
  AT: 14,
  BE: 13,
  BG: 14,
  CY: 14,
  CZ: 15,
  DE: 16,
  DK: 13,
  EE: 13,
  ES: 14,
  FI: 13,
  FR: 15,
  GR: 15,
  HR: 16,
  HU: 16,
  IE: 16,
  IT: 14,
  LT: 14,
  LU: 16,
  LV: 13,
  MT: 13,
  NL: 16,
  PL: 16,
  PT: 13,
  RO: 16,
  SE: 13,
  SI: 16,
  SK: 16,
}

/** US states whose laws make a Global Privacy Control signal a valid opt-out of sale/sharing. */
export const GPC_JURISDICTIONS: ReadonlyArray<string> = [
  "US-CA",
  "US-CO",
  "US-CT",
  "US-DE",
  "US-MD",
  "US-MN",
  "US-MT",
  "US-NH",
  "US-NJ",
  "US-OR",
  "US-TX",
]
