/**
 * The admin's campaigns: a newsletter by email and a message on LINE, each sent through the real
 * messenger adapter, so every recipient is decided at send time. The newsletter goes to the whole
 * segment of customers with an address and lets the gate refuse those who do not allow it (the
 * refusals are counted by reason); the LINE message is a narrowcast to an audience built from
 * current consent minus the exclusion audience of withdrawn users.
 */
import type { LineMessenger } from "@consentkit/adapter-line"
import type { LocalLine } from "@consentkit/adapter-line/testing"
import type { NodemailerMessenger } from "@consentkit/adapter-nodemailer"
import type { ShopTables } from "./db.js"

/** What one campaign run did. */
export interface CampaignRun {
  readonly number: number
  readonly channel: "email" | "line"
  readonly startedAt: Date
  readonly finishedAt: Date
  readonly sent: number
  /** Customers the consent gate refused, by the decision's reason. */
  readonly refused: Readonly<Record<string, number>>
  readonly noAddress: number
  readonly via?: string
}

const tagOf = (error: unknown) => (error as { _tag?: string } | null)?._tag

/** Runs `work` over `items`, `limit` at a time. */
const forEachLimit = async <A>(items: ReadonlyArray<A>, limit: number, work: (item: A) => Promise<void>) => {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!)
    }),
  )
}

/** Campaigns and their history (kept in memory: the demo's providers are in memory too). */
export const campaigns = (options: {
  readonly tenant: string
  readonly tables: ShopTables
  readonly mail: NodemailerMessenger
  readonly lineApi: LineMessenger
  readonly line: LocalLine
}) => {
  const runs: Array<CampaignRun> = []
  const nextNumber = () => runs.length + 1

  return {
    runs: runs as ReadonlyArray<CampaignRun>,

    /** Sends the monthly newsletter to every customer with an email address whom the gate allows. */
    newsletter: async (): Promise<CampaignRun> => {
      const number = nextNumber()
      const startedAt = new Date()
      const refused: Record<string, number> = {}
      let sent = 0
      let noAddress = 0
      await forEachLimit(await options.tables.customerIdsWithEmail(), 8, async (subject) => {
        try {
          await options.mail.send({
            tenant: options.tenant,
            subject,
            purpose: "marketing.email",
            message: {
              subject: `ชาใหม่ประจำเดือน · New teas this month (#${number})`,
              text: "สวัสดีค่ะ ชาอู่หลงดอยแม่สลองล็อตใหม่มาถึงแล้ว ลด 15% ถึงสิ้นเดือน\n\nHello! A new harvest of Doi Mae Salong oolong has arrived: 15% off until the end of the month.",
              html: "<p>สวัสดีค่ะ ชาอู่หลงดอยแม่สลองล็อตใหม่มาถึงแล้ว ลด 15% ถึงสิ้นเดือน</p><p>Hello! A new harvest of Doi Mae Salong oolong has arrived: 15% off until the end of the month.</p>",
            },
          })
          sent++
        } catch (error) {
          if (tagOf(error) === "ConsentRequired") {
            const reason = (error as { decision: { reason: string } }).decision.reason
            refused[reason] = (refused[reason] ?? 0) + 1
          } else if (tagOf(error) === "RecipientNotFound") noAddress++
          else throw error
        }
      })
      const run: CampaignRun = {
        number,
        channel: "email",
        startedAt,
        finishedAt: new Date(),
        sent,
        refused,
        noAddress,
      }
      runs.unshift(run)
      return run
    },

    /** Sends a LINE message to everyone who allows LINE offers now. */
    lineMessage: async (): Promise<CampaignRun> => {
      const number = nextNumber()
      const startedAt = new Date()
      const result = await options.lineApi.narrowcast({
        tenant: options.tenant,
        purpose: "marketing.line",
        messages: [
          {
            type: "text",
            text: `🍵 ชาสยาม: ชาตะไคร้ใบเตยกลับมาแล้ว! · Siam Tea: lemongrass & pandan is back in stock (#${number})`,
          },
        ],
      })
      // LINE delivers a narrowcast some time after accepting it; the local API does it now.
      options.line.settle()
      const run: CampaignRun = {
        number,
        channel: "line",
        startedAt,
        finishedAt: new Date(),
        sent: result.recipients,
        refused: {},
        noAddress: 0,
        via: result.via,
      }
      runs.unshift(run)
      return run
    },
  }
}

/** The shop's campaigns. */
export type Campaigns = ReturnType<typeof campaigns>
