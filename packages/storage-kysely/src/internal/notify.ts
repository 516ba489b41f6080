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

/** A notification as node-postgres delivers it. */
interface Notification {
  readonly channel: string
  readonly payload?: string
}

/**
 * One LISTEN connection for a store: it wakes dispatchers when a notification arrives on the
 * `work` channel and hands payloads of the `changes` channel to its subscribers. The outbox and
 * the change table stay the source of truth: a lost connection only means waiters sleep until
 * their timeout and subscribers miss payloads (they catch up by polling); it reconnects on the
 * next wait or take.
 */
export const makeListener = (
  notifications: Notifications,
  channels: { readonly work: string; readonly changes?: string },
) => {
  const waiters = new Set<() => void>()
  const subscribers = new Set<(payload: string) => void>()
  let connection: Promise<ListenConnection> | null = null
  let listening = false
  let closed = false

  const wakeAll = () => {
    for (const wake of [...waiters]) wake()
  }

  const onNotification = (message: Notification) => {
    if (message.channel === channels.changes) {
      for (const subscriber of [...subscribers]) subscriber(message.payload ?? "")
    } else wakeAll()
  }

  const drop = (conn: ListenConnection) => {
    listening = false
    connection = null
    conn.end().catch(() => undefined)
  }

  const ensure = (): Promise<ListenConnection> | null => {
    if (closed) return null
    if (connection) return connection
    const opening = notifications.connect().then(async (conn) => {
      conn.on("notification", onNotification as (...args: Array<never>) => void)
      conn.on("error", () => drop(conn))
      conn.on("end", () => {
        if (connection === opening) {
          connection = null
          listening = false
        }
      })
      await conn.query(`LISTEN "${channels.work}"`)
      if (channels.changes) await conn.query(`LISTEN "${channels.changes}"`)
      if (closed) drop(conn)
      else if (connection === opening) listening = true
      return conn
    })
    connection = opening
    opening.catch(() => {
      if (connection === opening) connection = null
    })
    return opening
  }

  return {
    /** Resolves on the next notification of work or after `timeoutMs`. */
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
    /** Whether the LISTEN connection is up and listening now. */
    listening: () => listening,
    /** Opens the connection if it is not (resolves when it listens, rejects when it cannot). */
    connect: async (): Promise<void> => {
      const opening = ensure()
      if (opening) await opening
    },
    /** Receives every payload of the `changes` channel until the returned function is called. */
    subscribe: (subscriber: (payload: string) => void): (() => void) => {
      subscribers.add(subscriber)
      return () => {
        subscribers.delete(subscriber)
      }
    },
    close: async () => {
      closed = true
      listening = false
      wakeAll()
      const open = connection
      connection = null
      if (open) await open.then((conn) => conn.end()).catch(() => undefined)
    },
  }
}

/** The listener of a store. */
export type Listener = ReturnType<typeof makeListener>
