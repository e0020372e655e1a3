import type { IncomingMessage } from 'node:http'
import { ProxyError } from '../errors.js'

/** Reads a body of known, small length. Node's parser guarantees no more than Content-Length arrives. */
export function readBody(req: IncomingMessage, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.allocUnsafe(length)
    let offset = 0
    req.on('data', (chunk: Buffer) => {
      chunk.copy(buf, offset)
      offset += chunk.length
    })
    req.once('end', () => resolve(offset === length ? buf : buf.subarray(0, offset)))
    req.once('error', () => reject(new ProxyError('bad_request', 400, 'The request body ended early')))
    req.once('close', () => {
      if (!req.complete) reject(new ProxyError('bad_request', 400, 'The request body ended early'))
    })
  })
}

/**
 * Reads a whole body of any framing (Content-Length or chunked) into memory, as long as it is no
 * bigger than `limit`: a bigger one is refused with 413 as soon as that is known (from its
 * Content-Length, or when the bytes read pass the limit) and the rest is never read.
 */
export function readBodyUpTo(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.off('data', onData)
        req.pause()
        reject(tooLarge(limit))
        return
      }
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.once('end', () => resolve(Buffer.concat(chunks, size)))
    req.once('error', () => reject(new ProxyError('bad_request', 400, 'The request body ended early')))
    req.once('close', () => {
      if (!req.complete) reject(new ProxyError('bad_request', 400, 'The request body ended early'))
    })
  })
}

function tooLarge(limit: number): ProxyError {
  // Connection: close, so Node does not read (and throw away) the rest of a huge body to keep the connection.
  return new ProxyError('payload_too_large', 413, `The request body is larger than the ${limit} bytes the proxy reads to check it against the parameter rules`, { headers: { Connection: 'close' } })
}
