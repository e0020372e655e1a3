import type Koa from 'koa'
import { ProxyError } from '../../errors.js'

const LIMIT = 16 * 1024

/**
 * The JSON API's body: `Content-Type: application/json` is required for every state-changing
 * request (a cross-site HTML form cannot send it, so it doubles as a CSRF barrier), bounded size.
 */
export async function readJson(ctx: Koa.Context): Promise<Record<string, unknown>> {
  if (!/^application\/json\b/i.test(ctx.get('content-type'))) {
    throw new ProxyError('unsupported_media_type', 415, 'The gateway API requires Content-Type: application/json')
  }
  let size = 0
  const chunks: Buffer[] = []
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > LIMIT) throw new ProxyError('payload_too_large', 413, 'Request body too large')
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8').trim()
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
