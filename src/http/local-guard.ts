import type Koa from 'koa'
import type { Config } from '../config/types.js'
import { allowedHostHeaders, checkBrowserRules, isNavigationToOwnPage, checkRemoteAddress, checkRequestTarget, pathOf, type Rejection } from './guards.js'

/** A check every request passes before it is dispatched: a Rejection refuses it. */
export type RequestGuard = (ctx: Koa.Context) => Rejection | undefined

const MISSING_HOST: Rejection = {
  status: 400, code: 'bad_request', reason: 'missing_host', message: 'HTTP/1.1 requests must carry a Host header',
}

/**
 * The local-mode safety rules, applied to every request, the proxy's own pages included,
 * before any token is looked up. `port()` is read per request because tests listen on port 0.
 */
export function localGuard(config: Config, port: () => number): RequestGuard {
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
  return function guard(ctx) {
    const req = ctx.req
    const method = req.method ?? 'GET'
    const url = req.url ?? ''
    return (
      (config.unsafeListenAny ? undefined : checkRemoteAddress(req.socket.remoteAddress)) ??
      // RFC 9112 §3.2: an HTTP/1.1 request without Host is malformed (400); HTTP/1.0 ones fall
      // through to the Host allowlist below and are refused there.
      (req.headers.host === undefined && req.httpVersion === '1.1' ? MISSING_HOST : undefined) ??
      checkRequestTarget(method, url) ??
      checkBrowserRules(req.headers, allowedHosts(), 'http', req.headers.host, isNavigationToOwnPage(method, () => pathOf(url), req.headers))
    )
  }
}
