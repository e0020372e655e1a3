import type Koa from 'koa'
import type { Config } from '../config/types.js'
import type { Metrics } from '../metrics.js'
import { rejectionError } from './error-middleware.js'
import { allowedHostHeaders, checkBrowserRules, isNavigationToOwnPage, checkRemoteAddress, checkRequestTarget, type Rejection } from './guards.js'

const MISSING_HOST: Rejection = {
  status: 400, code: 'bad_request', reason: 'missing_host', message: 'HTTP/1.1 requests must carry a Host header',
}

/**
 * Applies the local-mode safety rules to every request, the proxy's own pages included,
 * before any token is looked up. `port()` is read per request because tests listen on port 0.
 */
export function guardMiddleware(config: Config, metrics: Metrics, port: () => number): Koa.Middleware {
  let hosts: Set<string> | undefined
  let hostsPort = -1
  const allowedHosts = () => {
    const p = port()
    if (p !== hostsPort) {
      hosts = allowedHostHeaders(p, config.allowedHosts)
      hostsPort = p
    }
    return hosts as Set<string>
  }
  const refuse = (r: Rejection) => {
    metrics.rejected.inc({ reason: r.reason })
    return rejectionError(r)
  }
  return async function guard(ctx, next) {
    const req = ctx.req
    const rejection =
      (config.unsafeListenAny ? undefined : checkRemoteAddress(req.socket.remoteAddress)) ??
      // RFC 9112 §3.2: an HTTP/1.1 request without Host is malformed (400); HTTP/1.0 ones fall
      // through to the Host allowlist below and are refused there.
      (req.headers.host === undefined && req.httpVersion === '1.1' ? MISSING_HOST : undefined) ??
      checkRequestTarget(req.method ?? 'GET', req.url ?? '') ??
      checkBrowserRules(req.headers, allowedHosts(), 'http', req.headers.host, isNavigationToOwnPage(req.method ?? 'GET', ctx.path, req.headers))
    if (rejection) throw refuse(rejection)
    await next()
  }
}
