import type http from 'node:http'
import type { Socket } from 'node:net'

/** Node closes a pooled connection this long before a `Keep-Alive: timeout=N` the server announces. */
const HINT_LEAD_MS = 1000

const idleSince = Symbol('c66.idleSince')
const idleLimit = Symbol('c66.idleLimit')
type PooledSocket = Socket & { [idleSince]?: number; [idleLimit]?: number }

/**
 * Closes pooled upstream connections that have been idle for `timeoutMs` (or one second less than
 * the `Keep-Alive: timeout=N` the server announced, when that is shorter), before the server closes
 * them: a request written into a connection whose FIN is on its way fails instead of opening a
 * new one.
 *
 * Why not the agent's own `timeout` option, which does the same: it keeps an inactivity timer on
 * every pooled socket, also while a request uses it, so Node re-arms a timer on each read and
 * write and adds and removes a 'timeout' listener per request, measurable on the request path.
 * Here a request costs one clock read when its connection goes back to the pool, and one interval
 * timer looks at the free connections a few times a second.
 */
export function closeIdleConnections(agent: http.Agent, timeoutMs: number): { stop: () => void } {
  // Typed as returning void; Node's returns whether the socket may stay (documented since v13).
  const keep = agent.keepSocketAlive.bind(agent) as unknown as (socket: Socket) => boolean
  // keepSocketAlive is the documented hook for "a socket goes back to the pool". Node's own
  // version still runs (TCP keep-alive, unref); with no agent timeout it ignores a server's hint.
  agent.keepSocketAlive = (socket: PooledSocket): boolean => {
    const hinted = keepAliveHintMs(socket)
    if (hinted !== undefined && hinted - HINT_LEAD_MS <= 0) return false
    if (!keep(socket)) return false
    socket[idleSince] = Date.now()
    socket[idleLimit] = hinted === undefined ? timeoutMs : Math.min(timeoutMs, hinted - HINT_LEAD_MS)
    return true
  }
  // A connection is closed between its limit and one sweep later; a quarter of the timeout, at
  // most 250 ms, stays well inside the second Node keeps before an announced timeout.
  const every = Math.max(25, Math.min(250, Math.floor(timeoutMs / 4)))
  const timer = setInterval(() => {
    const now = Date.now()
    for (const list of Object.values(agent.freeSockets)) {
      // destroy() takes the socket out of the list (on 'close', later), so copy first.
      for (const socket of [...(list ?? [])] as PooledSocket[]) {
        if (now - (socket[idleSince] ?? now) >= (socket[idleLimit] ?? timeoutMs)) socket.destroy()
      }
    }
  }, every)
  timer.unref()
  return { stop: () => clearInterval(timer) }
}

/** The `Keep-Alive: timeout=N` of the response that just finished on `socket`, in ms. */
function keepAliveHintMs(socket: Socket): number | undefined {
  // The response is still attached when the socket is offered back to the pool (Node reads it here too).
  const res = (socket as Socket & { _httpMessage?: { res?: http.IncomingMessage } | null })._httpMessage?.res
  const header = res?.headers['keep-alive']
  if (typeof header !== 'string') return undefined
  const seconds = /^\s*timeout=(\d+)/i.exec(header)?.[1]
  return seconds === undefined ? undefined : Number(seconds) * 1000
}
