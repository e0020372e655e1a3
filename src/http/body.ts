import type { IncomingMessage } from 'node:http'
import { ProxyError } from '../errors.js'

export type BodyPlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'buffer'; readonly length: number }
  | { readonly kind: 'stream' }

/**
 * A body with a known length up to `limit` is buffered so the request can be replayed after a
 * 401; anything larger, or chunked, is streamed and cannot be replayed. Old cx builds send GET
 * with a body, so the method does not matter.
 */
export function planBody(req: IncomingMessage, limit: number): BodyPlan {
  const te = req.headers['transfer-encoding']
  const cl = req.headers['content-length']
  if (te !== undefined) return { kind: 'stream' }
  if (cl === undefined) return { kind: 'none' }
  const length = Number(cl)
  if (length === 0) return { kind: 'none' }
  return length <= limit ? { kind: 'buffer', length } : { kind: 'stream' }
}

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
