import { readFile } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { placesOf, uidIn, type TcpTable } from './peer-uid.js'

/**
 * Whether the OS user at the other end of a connection may use the proxy: known at once for a
 * connection already looked up, a promise on a connection's first request.
 */
export type PeerUserGate = (socket: Socket) => boolean | Promise<boolean>

/** Reads one table off the event loop (procfs text is made by the kernel as it is read). */
export const readTableAsync = (file: TcpTable): Promise<string | undefined> => readFile(file, 'latin1').catch(() => undefined)

/**
 * Looks each connection's user up once, on its first request, and keeps the answer for the
 * connection's life: keep-alive requests cost one WeakMap read. A connection whose user cannot be
 * found (the client already gone, a table that cannot be read) is refused: the check fails closed.
 * Nothing is cached across connections, because another user may get the same port next.
 *
 * Reading a table costs a walk of the kernel's whole connection hash (~4 ms here with 262,144
 * buckets) plus about 2 µs per socket listed, TIME_WAIT ones included, so the table the client
 * is most likely in is read first and the other only if needed, and reads are shared: at most
 * one per table is in flight, and every connection that asks meanwhile waits for the next one,
 * which starts after they all connected and so lists them all. A burst of new connections costs
 * two reads, not one each.
 */
export function peerUserGate(allowed: ReadonlySet<number>, read: (file: TcpTable) => Promise<string | undefined> = readTableAsync): PeerUserGate {
  const known = new WeakMap<Socket, boolean>()
  const tables = { '/proc/net/tcp': sharedReads(read, '/proc/net/tcp'), '/proc/net/tcp6': sharedReads(read, '/proc/net/tcp6') }
  const lookUp = async (socket: Socket): Promise<boolean> => {
    const ends = {
      peerAddress: socket.remoteAddress ?? '',
      peerPort: socket.remotePort ?? -1,
      localAddress: socket.localAddress ?? '',
      localPort: socket.localPort ?? -1,
    }
    let uid: number | undefined
    for (const place of placesOf(ends)) {
      const found = uidIn(await tables[place.file](), place.needle)
      if (found === 'absent') continue
      uid = found
      break
    }
    const allowedHere = uid !== undefined && allowed.has(uid)
    known.set(socket, allowedHere)
    return allowedHere
  }
  return (socket) => known.get(socket) ?? lookUp(socket)
}

/** A read of `file` that starts no earlier than the call: joins the queued one if there is one. */
function sharedReads(read: (file: TcpTable) => Promise<string | undefined>, file: TcpTable): () => Promise<string | undefined> {
  let queued: Promise<string | undefined> | undefined
  let inFlight: Promise<unknown> = Promise.resolve()
  return () => {
    if (queued !== undefined) return queued
    const next = inFlight.then(() => {
      // From here on the read has started: later callers queue the one after it.
      queued = undefined
      return read(file)
    })
    queued = next
    inFlight = next.catch(() => undefined)
    return next
  }
}
