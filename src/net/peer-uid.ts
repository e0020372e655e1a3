import { readFileSync } from 'node:fs'
import { isIPv4, isIPv6 } from 'node:net'
import { endianness } from 'node:os'

/**
 * Which OS user is at the other end of a loopback TCP connection. Node gives no SO_PEERCRED for
 * TCP, but Linux lists every socket of the network namespace in /proc/net/tcp and /proc/net/tcp6
 * with the uid that created it: the client's own socket is the entry whose local end is the
 * peer's address and port and whose remote end is ours. (Our accepted socket is listed too, the
 * other way round, with our uid: matching the direction is what keeps it from answering.)
 */

export type TcpTable = '/proc/net/tcp' | '/proc/net/tcp6'

/** Reads one table; undefined when it cannot be read. Injected by tests. */
export type ReadTable = (file: TcpTable) => string | undefined

/** The two ends of an accepted connection, as the server's socket reports them. */
export interface ConnectionEnds {
  readonly peerAddress: string
  readonly peerPort: number
  readonly localAddress: string
  readonly localPort: number
}

export const readProcTable: ReadTable = (file) => {
  try {
    return readFileSync(file, 'latin1')
  } catch {
    return undefined
  }
}

/** Whether this platform lists sockets with their owners where peerUid() looks. */
export function canTellPeerUsers(read: ReadTable = readProcTable, platform: NodeJS.Platform = process.platform): boolean {
  return platform === 'linux' && read('/proc/net/tcp') !== undefined
}

const TIME_WAIT = '06'
const LITTLE_ENDIAN = endianness() === 'LE'

/**
 * The uid of the process that owns the client end of the connection, or undefined when no live
 * entry names it (the client is gone, the address is not one the tables hold, the tables cannot
 * be read). A TIME_WAIT entry is listed with uid 0 whoever owned it, so it never answers.
 */
export function peerUid(ends: ConnectionEnds, read: ReadTable = readProcTable, littleEndian = LITTLE_ENDIAN): number | undefined {
  for (const place of placesOf(ends, littleEndian)) {
    const found = uidIn(read(place.file), place.needle)
    if (found !== 'absent') return found
  }
  return undefined
}

/** Where the client's socket can be listed: the table, and the start of its line there. */
export interface Place {
  readonly file: TcpTable
  readonly needle: string
}

/**
 * The places to look, most likely first. Each table costs a walk of the kernel's whole
 * connection hash (262,144 buckets here: ~4 ms) whatever it lists, so a caller reads the next
 * only when the first did not have the line.
 */
export function placesOf(ends: ConnectionEnds, littleEndian = LITTLE_ENDIAN): Place[] {
  // The kernel prints "%4d: %08X:%04X %08X:%04X %02X ...": the ": " before and the space after
  // anchor the needle to the first two columns of one line.
  return candidates(ends, littleEndian).map(([file, peer, local]) => ({
    file,
    needle: `: ${peer}:${hexPort(ends.peerPort)} ${local}:${hexPort(ends.localPort)} `,
  }))
}

/** The uid on the line `needle` starts in `table`; undefined for a TIME_WAIT line; 'absent' when there is none. */
export function uidIn(table: string | undefined, needle: string): number | undefined | 'absent' {
  if (table === undefined) return 'absent'
  const at = table.indexOf(needle)
  if (at === -1) return 'absent'
  const end = table.indexOf('\n', at)
  // sl: local rem st tx:rx tr:when retrnsmt uid ...; the line from the needle on starts at "local".
  const fields = table
    .slice(at + 2, end === -1 ? undefined : end)
    .trim()
    .split(/\s+/)
  if (fields[2] === TIME_WAIT) return undefined
  const uid = Number(fields[6])
  return Number.isInteger(uid) && uid >= 0 ? uid : undefined
}

/**
 * The tables and address spellings the client's socket can be listed under. An IPv4 client
 * appears in tcp; a client that connected over an IPv6 socket to an IPv4-mapped address appears
 * in tcp6 with both ends mapped.
 */
function candidates(ends: ConnectionEnds, le: boolean): Array<[TcpTable, string, string]> {
  const peer4 = ipv4Of(ends.peerAddress)
  const local4 = ipv4Of(ends.localAddress)
  const out: Array<[TcpTable, string, string]> = []
  if (peer4 !== undefined && local4 !== undefined) {
    out.push(['/proc/net/tcp', hexWord(peer4, le), hexWord(local4, le)])
    out.push(['/proc/net/tcp6', hexV6(mapped(peer4), le), hexV6(mapped(local4), le)])
    return out
  }
  const peer6 = ipv6Bytes(ends.peerAddress)
  const local6 = ipv6Bytes(ends.localAddress)
  if (peer6 !== undefined && local6 !== undefined) out.push(['/proc/net/tcp6', hexV6(peer6, le), hexV6(local6, le)])
  return out
}

/** The four bytes of an IPv4 address, also when written IPv4-mapped (::ffff:127.0.0.1). */
function ipv4Of(address: string): number[] | undefined {
  const plain = address.toLowerCase().startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
  return isIPv4(plain) ? plain.split('.').map(Number) : undefined
}

function mapped(v4: number[]): number[] {
  return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]
}

/** The sixteen bytes of an IPv6 address (no zone index: loopback peers carry none). */
export function ipv6Bytes(address: string): number[] | undefined {
  if (!isIPv6(address) || address.includes('%')) return undefined
  let text = address.toLowerCase()
  // A trailing dotted quad is two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (quad?.[1] !== undefined) {
    const b = quad[1].split('.').map(Number)
    text = `${text.slice(0, -quad[1].length)}${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`
  }
  const [head = '', tail] = text.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
  if (groups.length !== 8) return undefined
  return groups.flatMap((g) => {
    const n = parseInt(g, 16)
    return [n >> 8, n & 0xff]
  })
}

/** One 32-bit word as the kernel prints it: %08X of the word in host byte order. */
function hexWord(bytes: number[], le: boolean): string {
  const ordered = le ? [...bytes].reverse() : bytes
  return ordered
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase()
}

/** tcp6 prints the address as four such words. */
function hexV6(bytes: number[], le: boolean): string {
  let out = ''
  for (let i = 0; i < 16; i += 4) out += hexWord(bytes.slice(i, i + 4), le)
  return out
}

function hexPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0')
}
