/**
 * `consentkit export`: Prints everything held about a subject as JSON.
 *
 * @since 0.1.0
 */
import { type Command, required } from "../args.js"
import { line } from "../io.js"
import { withKit } from "../kit.js"

/** `consentkit export`. */
export const exportCommand: Command = (values, _, io) =>
  withKit(values, io, async (kit) => {
    const subject = required(values, "subject")
    line(io.stdout, JSON.stringify(await kit.export(required(values, "tenant"), subject), null, 2))
    return 0
  })
