import type { IncomingMessage } from 'node:http'
import { ProxyError } from '../errors.js'
import { readWhole, type BodyPace } from './body.js'

const FORM_LIMIT = 8 * 1024

/** Reads a small `application/x-www-form-urlencoded` body of the proxy's own pages, bounded in size and pace. */
export async function readForm(req: IncomingMessage, pace: BodyPace): Promise<URLSearchParams> {
  const type = req.headers['content-type'] ?? ''
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) throw new ProxyError('bad_request', 400, 'Expected a form submission')
  const raw = await readWhole(req, { limit: FORM_LIMIT, pace, tooLarge: () => new ProxyError('payload_too_large', 413, 'Form too large', { headers: { Connection: 'close' } }) })
  return new URLSearchParams(raw.toString('utf8'))
}
