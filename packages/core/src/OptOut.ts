/**
 * Inbound opt-outs: the words customers use to stop messages. An SMS reply of STOP (or
 * UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPT OUT, or Thai ยกเลิก) is an opt-out of the
 * channel; `ConsentKit.optOut` records it as withdrawals of every purpose the channel serves, on
 * that channel alone (the purposes' other channels stay as they were).
 *
 * @since 0.1.0
 */

/** The opt-out keywords recognised by default (CTIA's list, plus Thai). */
export const SMS_KEYWORDS: ReadonlyArray<string> = [
  "STOP",
  "STOPALL",
  "UNSUBSCRIBE",
  "CANCEL",
  "END",
  "QUIT",
  "REVOKE",
  "OPTOUT",
  "OPT OUT",
  "ยกเลิก",
]

const normalise = (text: string): string =>
  text
    .normalize("NFC")
    .trim()
    .replace(/[\s\u200b]+/g, " ")
    .replace(/[.!。]+$/u, "")
    .toUpperCase()

/**
 * Whether an inbound SMS is an opt-out: the whole message is a keyword (case, surrounding
 * space and a trailing full stop ignored), as carriers require; "stop by the shop" is not.
 */
export const isSmsOptOut = (text: string, keywords: ReadonlyArray<string> = SMS_KEYWORDS): boolean => {
  const word = normalise(text)
  return keywords.some((k) => normalise(k) === word)
}
