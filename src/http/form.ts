import type { IncomingMessage } from 'node:http'
import { ProxyError } from '../errors.js'

const FORM_LIMIT = 8 * 1024

/** Reads a small `application/x-www-form-urlencoded` body of the proxy's own pages. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = req.headers['content-type'] ?? ''
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) throw new ProxyError('bad_request', 400, 'Expected a form submission')
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > FORM_LIMIT) throw new ProxyError('payload_too_large', 413, 'Form too large')
    chunks.push(chunk)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}
