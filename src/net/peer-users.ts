import { readFile } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { peerUid, type TcpTable } from './peer-uid.js'

/**
 * Whether the OS user at the other end of a connection may use the proxy: known at once for a
 * connection already looked up, a promise on a connection's first request.
 */
export type PeerUserGate = (socket: Socket) => boolean | Promise<boolean>

export type Tables = Readonly<Record<TcpTable, string | undefined>>

/** Reads one table off the event loop (procfs text is made by the kernel as it is read). */
export const readTableAsync = (file: TcpTable): Promise<string | undefined> => readFile(file, 'latin1').catch(() => undefined)

/**
 * Looks each connection's user up once, on its first request, and keeps the answer for the
 * connection's life: keep-alive requests cost one WeakMap read. A connection whose user cannot be
 * found (the client already gone, a table that cannot be read) is refused: the check fails closed.
 * Nothing is cached across connections, because another user may get the same port next.
 *
 * Reading the tables costs time in proportion to every socket the machine lists (about 3 µs a
 * line, TIME_WAIT ones included), so reads are shared: at most one is in flight, and every
 * connection that asks meanwhile waits for the next one, which starts after they all connected
 * and so lists them all. A burst of new connections costs two reads, not one each.
 */
export function peerUserGate(allowed: ReadonlySet<number>, read: (file: TcpTable) => Promise<string | undefined> = readTableAsync): PeerUserGate {
  const known = new WeakMap<Socket, boolean>()
  const tables = sharedReads(read)
  return (socket) => {
    const ok = known.get(socket)
    if (ok !== undefined) return ok
    const ends = { peerAddress: socket.remoteAddress ?? '', peerPort: socket.remotePort ?? -1, localAddress: socket.localAddress ?? '', localPort: socket.localPort ?? -1 }
    return tables().then((t) => {
      const uid = peerUid(ends, (file) => t[file])
      const allowedHere = uid !== undefined && allowed.has(uid)
      known.set(socket, allowedHere)
      return allowedHere
    })
  }
}

/** A read of both tables that starts no earlier than the call: joins the queued one if there is one. */
function sharedReads(read: (file: TcpTable) => Promise<string | undefined>): () => Promise<Tables> {
  let queued: Promise<Tables> | undefined
  let inFlight: Promise<unknown> = Promise.resolve()
  return () => {
    if (queued !== undefined) return queued
    const next = inFlight.then(async () => {
      // From here on the read has started: later callers queue the one after it.
      queued = undefined
      const [tcp, tcp6] = await Promise.all([read('/proc/net/tcp'), read('/proc/net/tcp6')])
      return { '/proc/net/tcp': tcp, '/proc/net/tcp6': tcp6 }
    })
    queued = next
    inFlight = next.catch(() => undefined)
    return next
  }
}
