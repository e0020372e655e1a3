import type Koa from 'koa'
import { ProxyError } from '../../errors.js'
import { readWhole, type BodyPace } from '../body.js'

const LIMIT = 16 * 1024

/**
 * The JSON API's body: `Content-Type: application/json` is required for every state-changing
 * request (a cross-site HTML form cannot send it, so it doubles as a CSRF barrier), bounded size
 * and pace. Callers check the session first: nothing is read for someone not signed in.
 */
export async function readJson(ctx: Koa.Context, pace: BodyPace): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(ctx.get('content-type'))) {
    throw new ProxyError('unsupported_media_type', 415, 'The gateway API requires Content-Type: application/json')
  }
  const raw = await readWhole(ctx.req, { limit: LIMIT, pace, tooLarge: () => new ProxyError('payload_too_large', 413, 'Request body too large', { headers: { Connection: 'close' } }) })
  const text = raw.toString('utf8').trim()
  if (text === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new ProxyError('bad_request', 400, 'The body is not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ProxyError('bad_request', 400, 'The body must be a JSON object')
  return parsed as Record<string, unknown>
}
