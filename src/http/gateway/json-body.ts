import type { ProxyContext } from '../../proxy/request-state.js'
import { readWhole, type BodyPace } from '../../proxy/read-body.js'
import { refuse } from '../../refusals.js'

const LIMIT = 16 * 1024

/**
 * The JSON API's body: `Content-Type: application/json` is required for every state-changing
 * request (a cross-site HTML form cannot send it, so it doubles as a CSRF barrier), bounded size
 * and pace. Callers check the session first: nothing is read for someone not signed in.
 */
export async function readJson(ctx: ProxyContext, pace: BodyPace): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(ctx.get('content-type'))) {
    throw refuse.jsonRequired()
  }
  const raw = await readWhole(ctx.req, { limit: LIMIT, pace, tooLarge: () => refuse.bodyTooLarge('Request body too large') })
  const text = raw.toString('utf8').trim()
  if (text === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw refuse.invalidJson('The body is not valid JSON')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw refuse.invalidJson('The body must be a JSON object')
  return parsed as Record<string, unknown>
}
