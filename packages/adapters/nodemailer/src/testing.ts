/**
 * @consentkit/adapter-nodemailer/testing: a real SMTP server in-process (smtp-server) that parses
 * every mail it accepts (mailparser), so an app's tests can assert on what actually arrived.
 *
 * @since 0.1.0
 */
import type { AddressInfo } from "node:net"
import { type ParsedMail, simpleParser } from "mailparser"
import { SMTPServer } from "smtp-server"

/** One mail the server accepted. */
export interface ReceivedMail {
  /** RCPT TO addresses, lower-cased. */
  readonly to: ReadonlyArray<string>
  readonly from: string | null
  readonly parsed: ParsedMail
  /** The raw header lines, unfolded, as `Name: value`. */
  readonly headers: ReadonlyArray<string>
  /** The first raw header of that name (case-insensitive), unfolded. */
  readonly header: (name: string) => string | undefined
  readonly text: string
}

/** A running local SMTP server. */
export interface LocalSmtp {
  readonly host: string
  readonly port: number
  /** Every mail accepted, oldest first. */
  readonly mails: ReadonlyArray<ReceivedMail>
  /** Mails to one address. */
  readonly to: (address: string) => ReadonlyArray<ReceivedMail>
  readonly close: () => Promise<void>
}

const unfold = (line: string) => line.replace(/\r?\n[ \t]+/g, " ")

/** Starts an SMTP server on 127.0.0.1 (a free port) that accepts any mail without TLS or auth. */
export const localSmtp = async (): Promise<LocalSmtp> => {
  const mails: Array<ReceivedMail> = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          const headers = parsed.headerLines.map((h) => unfold(h.line))
          mails.push({
            to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
            parsed,
            headers,
            header: (name) => {
              const prefix = `${name.toLowerCase()}:`
              const line = headers.find((h) => h.toLowerCase().startsWith(prefix))
              return line?.slice(prefix.length).trim()
            },
            text: (parsed.text ?? "").trim(),
          })
          callback()
        },
        (error: Error) => callback(error),
      )
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const { port } = server.server.address() as AddressInfo
  return {
    host: "127.0.0.1",
    port,
    mails,
    to: (address) => mails.filter((m) => m.to.includes(address.toLowerCase())),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
