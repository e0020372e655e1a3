import { mapTarget } from '../proxy/target.js'
import { FAVICON } from './favicon.js'
import { checkRequestTarget, pathOf } from './guards.js'

/** The proxy's own pages, labelled by their path (routes.ts gives the same labels when they answer). */
const OWN_PAGES = new Set(['/-/', '/-/healthz', '/-/readyz', '/-/metrics', '/-/login', '/-/callback', '/-/logout'])

/**
 * The route label of a request refused before it was dispatched (a foreign Host or Origin, a
 * remote peer, bad framing), which would otherwise stay "other": the same bounded template it
 * would have had if it had been let through. A target the request-target rules refuse is not what
 * Cloud 66 would route, so it stays "other". Only run for refused requests, never on the hot path.
 */
export function refusedRouteLabel(method: string, rawUrl: string): string {
  if (checkRequestTarget(method, rawUrl) !== undefined) return 'other'
  const path = pathOf(rawUrl)
  if (path === FAVICON) return FAVICON
  if (path === '/-' || path.startsWith('/-/')) return OWN_PAGES.has(path) ? path : '/-/other'
  return mapTarget(rawUrl).route
}
