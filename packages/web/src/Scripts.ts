/**
 * Script holding: `<script type="text/plain" data-consent-purpose="analytics" src="…">` stays inert
 * until every purpose it names is allowed; then it is replaced by a real script with the same
 * attributes and content, so it runs once. A withdrawal cannot unload a script that ran: the server
 * gates what it collects, so the page's script is a courtesy, not the control.
 *
 * @since 0.1.0
 */

/** The attribute naming the purposes (space separated) a held script needs. */
export const PURPOSE_ATTRIBUTE = "data-consent-purpose"
/** The type a held script runs as once allowed (default: a classic script). */
export const TYPE_ATTRIBUTE = "data-consent-type"

/** The purposes a held script needs. */
export const purposesOf = (value: string | null): Array<string> => (value ?? "").split(/\s+/).filter(Boolean)

/** Whether a held script may run: it names at least one purpose and every one is allowed. */
export const mayRun = (value: string | null, allowed: (purpose: string) => boolean): boolean => {
  const purposes = purposesOf(value)
  return purposes.length > 0 && purposes.every(allowed)
}

/**
 * Activates every held script under `root` whose purposes are all allowed; returns how many ran.
 * The copy keeps the original's attributes except the holding ones, and its inline text.
 */
export const activateScripts = (root: ParentNode, allowed: (purpose: string) => boolean): number => {
  let count = 0
  for (const held of Array.from(
    root.querySelectorAll<HTMLScriptElement>(`script[type="text/plain"][${PURPOSE_ATTRIBUTE}]`),
  )) {
    if (!mayRun(held.getAttribute(PURPOSE_ATTRIBUTE), allowed)) continue
    const script = held.ownerDocument.createElement("script")
    for (const { name, value } of Array.from(held.attributes)) {
      if (name !== "type" && name !== TYPE_ATTRIBUTE) script.setAttribute(name, value)
    }
    const type = held.getAttribute(TYPE_ATTRIBUTE)
    if (type) script.type = type
    script.setAttribute("data-consent-activated", "")
    script.text = held.text
    held.replaceWith(script)
    count++
  }
  return count
}
