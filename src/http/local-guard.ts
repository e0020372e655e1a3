import type { ProxyContext } from '../proxy/request-state.js'
import type { Config } from '../config/types.js'
import { checkFraming } from './framing.js'
import type { ProxyError } from '../errors.js'
import { allowedHostHeaders, checkBrowserRules, checkHostPresent, checkRemoteAddress, checkRequestTarget, isNavigationToOwnPage, pathOf } from './guards.js'

/** A check every request passes before it is dispatched: the error it returns refuses the request. */
export type RequestGuard = (ctx: ProxyContext) => ProxyError | undefined

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
