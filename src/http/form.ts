import type { IncomingMessage } from 'node:http'
import { readWhole, type BodyPace } from '../proxy/read-body.js'
import { refuse } from '../refusals.js'

const FORM_LIMIT = 8 * 1024

/** Reads a small `application/x-www-form-urlencoded` body of the proxy's own pages, bounded in size and pace. */
export async function readForm(req: IncomingMessage, pace: BodyPace): Promise<URLSearchParams> {
  const type = req.headers['content-type'] ?? ''
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) throw refuse.formRequired()
  const raw = await readWhole(req, { limit: FORM_LIMIT, pace, tooLarge: () => refuse.bodyTooLarge('Form too large') })
  return new URLSearchParams(raw.toString('utf8'))
}
