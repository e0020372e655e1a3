import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { ProxyContext } from '../proxy/request-state.js'
import { refuse } from '../refusals.js'
import { readCookie, serializeCookie } from './cookies.js'

export const CSRF_COOKIE = 'c66p_csrf'

/**
 * Double-submit CSRF token for the proxy's own forms (log out): a random value in an HttpOnly
 * cookie and in the form. The guards already refuse foreign Origins and cross-site fetches; this
 * also covers browsers that send neither header.
 */
export function csrfTokenFor(ctx: ProxyContext, secure: boolean): string {
  const existing = readCookie(ctx.req.headers, CSRF_COOKIE)
  if (existing !== undefined && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing
  const token = randomBytes(32).toString('base64url')
  ctx.append('Set-Cookie', serializeCookie(CSRF_COOKIE, token, { path: '/-/', maxAgeSeconds: 12 * 3600, secure }))
  return token
}

export function checkCsrf(ctx: ProxyContext, submitted: string | null): void {
  const cookie = readCookie(ctx.req.headers, CSRF_COOKIE)
  const ok = cookie !== undefined && submitted !== null && cookie.length === submitted.length && timingSafeEqual(Buffer.from(cookie), Buffer.from(submitted))
  if (!ok) throw refuse.csrf()
}
