/** A dedicated connection that LISTENs (PostgreSQL server only: pooled connections cannot keep a LISTEN). */
export interface ListenConnection {
  readonly query: (text: string) => Promise<unknown>
  readonly on: (event: "notification" | "error" | "end", listener: (...args: Array<never>) => void) => unknown
  readonly end: () => Promise<void>
}

/** How the store opens its LISTEN connection (`openDatabase` supplies it for `postgres://` URLs). */
export interface Notifications {
  readonly connect: () => Promise<ListenConnection>
}

/**
 * Wakes waiters when a notification arrives on `channel`. The outbox stays the source of truth:
 * a lost connection only means waiters sleep until their timeout, and it reconnects on next wait.
 */
export const makeListener = (notifications: Notifications, channel: string) => {
  const waiters = new Set<() => void>()
  let connection: Promise<ListenConnection> | null = null
  let closed = false

  const wakeAll = () => {
    for (const wake of [...waiters]) wake()
  }

  const drop = (conn: ListenConnection) => {
    connection = null
    conn.end().catch(() => undefined)
  }

  const ensure = () => {
    if (closed || connection) return
    const opening = notifications.connect().then(async (conn) => {
      conn.on("notification", wakeAll)
      conn.on("error", () => drop(conn))
      conn.on("end", () => {
        if (connection === opening) connection = null
      })
      await conn.query(`LISTEN "${channel}"`)
      if (closed) drop(conn)
      return conn
    })
    connection = opening
    opening.catch(() => {
      if (connection === opening) connection = null
    })
  }

  return {
    /** Resolves on the next notification or after `timeoutMs`. */
    wait: (timeoutMs: number, signal?: AbortSignal): Promise<void> =>
      new Promise<void>((resolve) => {
        ensure()
        const done = () => {
          clearTimeout(timer)
          waiters.delete(done)
          signal?.removeEventListener("abort", done)
          resolve()
        }
        const timer = setTimeout(done, timeoutMs)
        waiters.add(done)
        signal?.addEventListener("abort", done)
      }),
    close: async () => {
      closed = true
      wakeAll()
      const open = connection
      connection = null
      if (open) await open.then((conn) => conn.end()).catch(() => undefined)
    },
  }
}
