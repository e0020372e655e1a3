import type { ProxyContext } from '../proxy/request-state.js'

/** Browsers ask every origin for it, the status page's included. */
export const FAVICON = '/favicon.ico'

export const isFavicon = (url: string): boolean => url === FAVICON || url.startsWith(`${FAVICON}?`)

/**
 * Answered here, never forwarded: Cloud 66 has no such endpoint, so forwarding it only spent a
 * request of the user's hourly budget, with their token, on a 404. No content, cached for a day
 * so the browser stops asking.
 */
export function answerFavicon(ctx: ProxyContext): void {
  ctx.state.route = FAVICON
  ctx.set('Cache-Control', 'public, max-age=86400')
  ctx.status = 204
}
