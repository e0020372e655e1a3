import type { IncomingMessage } from 'node:http'
import { isIP, type BlockList } from 'node:net'

/** True when `address` is in `trusted` (IPv4-mapped IPv6 addresses are read as IPv4). */
export function isTrustedAddress(address: string | undefined, trusted: BlockList): boolean {
  if (address === undefined || address === '') return false
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return trusted.check(mapped[1] as string, 'ipv4')
  const family = isIP(address)
  return family !== 0 && trusted.check(address, family === 6 ? 'ipv6' : 'ipv4')
}

/**
 * The caller's address, for limits, logs and the audit log. From a trusted proxy (a TLS front,
 * an SSO proxy) it is the right-most X-Forwarded-For entry that is not itself a trusted proxy:
 * each proxy appends the address it saw, so entries to the left of that one are whatever the
 * client chose to send. From anyone else it is the socket's peer, whatever headers say. An entry
 * that is not an IP address ends the walk at the peer: a well-behaved front never appends one.
 */
export function clientAddress(req: IncomingMessage, trusted: BlockList | undefined): string {
  const peer = req.socket.remoteAddress ?? ''
  if (trusted === undefined || !isTrustedAddress(peer, trusted)) return peer
  const forwarded = req.headers['x-forwarded-for']
  if (typeof forwarded !== 'string' || forwarded === '') return peer
  const hops = forwarded.split(',')
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = (hops[i] ?? '').trim()
    if (isIP(hop) === 0) return peer
    if (!isTrustedAddress(hop, trusted)) return hop
  }
  return peer
}
