import type { IncomingMessage } from 'node:http'
import type { Secret } from '../../secret.js'
import type { PassContext } from './context.js'
import type { Flight } from './flight.js'
import { respond } from './respond.js'

/**
 * Cloud 66 answered 401: the token was revoked, rotated or expired. A request that can be sent
 * again (no body, or a buffered one) is replayed once with the token the token service finds
 * next; any other 401 passes through with a hint, and the token is still refreshed or re-read in
 * the background, so the next request does not meet the same dead token.
 */
export function onUnauthorized(ctx: PassContext, flight: Flight, proxyRes: IncomingMessage): void {
  if (flight.attempt === 1 && flight.job.replayable) {
    void replay(ctx, flight, proxyRes)
    return
  }
  if (flight.attempt === 1) void flight.job.onUnauthorized(flight.token).catch(() => undefined)
  passUnauthorized(ctx, flight, proxyRes)
}

async function replay(ctx: PassContext, flight: Flight, proxyRes: IncomingMessage): Promise<void> {
  let next: Secret | undefined
  try {
    next = await flight.job.onUnauthorized(flight.token)
  } catch (err) {
    ctx.log.warn({ err_code: (err as NodeJS.ErrnoException).code }, 'token re-read after 401 failed')
  }
  if (next === undefined || next.equals(flight.token) || flight.abandoned || flight.res.destroyed) {
    passUnauthorized(ctx, flight, proxyRes)
    return
  }
  ctx.metrics.retries.inc({ action: 'replayed' })
  proxyRes.resume() // drain the 401 so its socket goes back to the pool
  flight.answered = false
  flight.token = next
  ctx.send(flight, flight.req)
}

/** Cloud 66's 401 goes through untouched, plus a header saying how to recover. */
function passUnauthorized(ctx: PassContext, flight: Flight, proxyRes: IncomingMessage): void {
  ctx.metrics.retries.inc({ action: 'passed_through' })
  if (!flight.res.headersSent) flight.res.setHeader('X-C66-Proxy-Hint', unauthorizedHint(flight.job.publicOrigin, ctx.loginConfigured))
  respond(ctx, flight, proxyRes)
}

/**
 * JSON in a header: the 401's body is Cloud 66's (often empty) and stays untouched. It names only
 * steps that work here: /-/login and `c66-proxy login` need OAuth configured (C66_CLIENT_ID).
 */
export function unauthorizedHint(publicOrigin: string, loginConfigured: boolean): string {
  const step = loginConfigured
    ? `Log in again at ${publicOrigin}/-/login or with \`c66-proxy login\`, or replace the token (\`c66-proxy status\` shows where it comes from).`
    : 'Replace the token where it comes from (`c66-proxy status` shows which source; files are re-read without a restart), or store a new one with `c66-proxy token set`.'
  return JSON.stringify({ error: 'upstream_unauthorized', message: `Cloud 66 rejected the token (401) and no replacement was found. ${step}` })
}
