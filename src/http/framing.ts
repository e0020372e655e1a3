import type { IncomingMessage } from 'node:http'
import type { ProxyError } from '../errors.js'
import { refuse } from '../refusals.js'

/**
 * The Connection options honest clients send (RFC 9110 §7.6.1, RFC 9112 §9.3): persistence,
 * protocol upgrades (Upgrade, HTTP2-Settings) and TE. Each names a hop-by-hop field the proxy
 * drops anyway. Any other option asks the proxy to delete an end-to-end field before forwarding,
 * and no browser, curl, cx build or HTTP library does that on its own: it is how a request that
 * named `content-length` once lost its framing here and was read by Cloud 66 as two requests.
 */
const HOP_BY_HOP_OPTIONS = new Set(['close', 'keep-alive', 'upgrade', 'te', 'http2-settings'])

/**
 * Request framing that every parser on the way (Node's here, Rack's behind Cloud 66) reads the
 * same: one Host; Transfer-Encoding, when present, exactly `chunked` on HTTP/1.1; no
 * underscore spellings of the framing fields; and a Connection header that names only
 * hop-by-hop options. Node's parser (llhttp, strict: `insecureHTTPParser` is never set) already
 * refuses Content-Length with Transfer-Encoding, differing or malformed Content-Lengths, obs-fold,
 * bare CR and control characters in values; the framing harness in test/framing checks both.
 */
export function checkFraming(req: IncomingMessage): ProxyError | undefined {
  const raw = req.rawHeaders
  let hosts = 0
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? ''
    // Compared by length first: this runs on every request, and almost no name has these lengths.
    if (name.length === 4) {
      if (name.toLowerCase() === 'host' && ++hosts > 1) return refuse.duplicateHost()
    } else if ((name.length === 14 || name.length === 17) && name.includes('_')) {
      const folded = name.toLowerCase().replace(/_/g, '-')
      if (folded === 'content-length' || folded === 'transfer-encoding') return refuse.underscoreFraming()
    }
  }
  const te = req.headers['transfer-encoding']
  if (te !== undefined) {
    if (req.httpVersion !== '1.1') return refuse.http10Chunked()
    if (te.trim().toLowerCase() !== 'chunked') return refuse.transferCoding()
  }
  const connection = req.headers.connection
  if (connection !== undefined && connection !== 'keep-alive' && connection !== 'close') {
    for (const option of connection.split(',')) {
      const o = option.trim().toLowerCase()
      if (o !== '' && !HOP_BY_HOP_OPTIONS.has(o)) {
        return refuse.connectionOption([...HOP_BY_HOP_OPTIONS], o)
      }
    }
  }
  return undefined
}
