import type { IncomingHttpHeaders } from 'node:http'
import type { ProxyContext } from '../proxy/request-state.js'
import { toProxyError } from '../errors.js'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import { requestIdOf } from './request-id.js'

const hasBody = (h: IncomingHttpHeaders): boolean => h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0')

/** Turns a thrown error into the response (see errorResponder). */
export type ErrorResponder = (ctx: ProxyContext, err: unknown) => void

/**
 * The one place an error becomes a response, and the one place a refusal is counted
 * (c66_proxy_rejected_requests_total, by the error's reason): JSON `{error, message, request_id}`
 * with the error's status. Messages are the proxy's own fixed texts (foreign errors become
 * `internal`), so nothing a library or the upstream said, and no secret, can reach the caller.
 */
export function errorResponder(log: Logger, metrics: Metrics, authenticate = 'Bearer realm="c66-proxy"'): ErrorResponder {
  return function answerError(ctx, err) {
    const e = toProxyError(err)
    if (e.reason !== undefined) metrics.rejected.inc({ reason: e.reason })
    if (e.code === 'internal') log.error({ err: e.cause, request_id: requestIdOf(ctx) }, 'internal error')
    if (ctx.res.headersSent) {
      ctx.res.destroy()
      return
    }
    ctx.respond = true
    ctx.status = e.status
    ctx.set('Cache-Control', 'no-store')
    ctx.set('X-Content-Type-Options', 'nosniff')
    if (e.status === 401) ctx.set('WWW-Authenticate', authenticate)
    // A refused request whose body has not all arrived: close the connection after the answer
    // instead of reading (and throwing away) the rest, which a slow sender could drag out for ever.
    if (!ctx.req.complete && hasBody(ctx.req.headers)) ctx.set('Connection', 'close')
    for (const [name, value] of Object.entries(e.headers)) ctx.set(name, value)
    ctx.body = { error: e.code, message: e.message, request_id: requestIdOf(ctx) }
  }
}
