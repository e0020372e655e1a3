import type Koa from 'koa'
import type { Config } from '../config/types.js'
import { checkFraming } from './framing.js'
import { allowedHostHeaders, checkBrowserRules, checkHostPresent, checkRemoteAddress, checkRequestTarget, isNavigationToOwnPage, pathOf, type Rejection } from './guards.js'

/** A check every request passes before it is dispatched: a Rejection refuses it. */
export type RequestGuard = (ctx: Koa.Context) => Rejection | undefined

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
      hosts = allowedHostHeaders(p, config.allowedHosts, config.publicUrl)
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
      checkHostPresent(req.headers.host, req.httpVersion) ??
      checkFraming(req) ??
      checkRequestTarget(method, url) ??
      checkBrowserRules(req.headers, allowedHosts(), 'http', req.headers.host, isNavigationToOwnPage(method, () => pathOf(url), req.headers))
    )
  }
}
