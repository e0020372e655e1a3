import { randomUUID } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** The caller's `X-Request-Id` / `Request-Id` (cx sends the latter) when it is safe to echo; a new UUID otherwise. */
export function requestIdFor(headers: IncomingHttpHeaders): string {
  const given = headers['x-request-id'] ?? headers['request-id']
  return typeof given === 'string' && SAFE_ID.test(given) ? given : randomUUID()
}
