import type { ProxyContext } from '../proxy/request-state.js'
import type { Config } from '../config/types.js'
import { checkFraming } from './framing.js'
import type { PeerUserGate } from '../net/peer-users.js'
import { refuse } from '../refusals.js'
import type { ProxyError } from '../errors.js'
import { allowedHostHeaders, checkBrowserRules, checkHostPresent, checkRemoteAddress, checkRequestTarget, isNavigationToOwnPage, pathOf } from './guards.js'

/**
 * A check every request passes before it is dispatched: the error it returns refuses the request.
 * It answers at once, except where it must first look something up (who a new connection is).
 */
export type RequestGuard = (ctx: ProxyContext) => ProxyError | undefined | Promise<ProxyError | undefined>

/**
 * The local-mode safety rules, applied to every request, the proxy's own pages included,
 * before any token is looked up. `port()` is read per request because tests listen on port 0.
 * `peers` (when the platform can tell) admits only the OS users allowed to act as the owner;
 * over a unix socket the socket's permissions do that, and there is no remote address to check.
 */
export function localGuard(config: Config, port: () => number, peers: PeerUserGate | undefined): RequestGuard {
  const overTcp = config.listen.socket === undefined
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
  const rules = (ctx: ProxyContext): ProxyError | undefined => {
    const req = ctx.req
    const method = req.method ?? 'GET'
    const url = req.url ?? ''
    return (
      (config.unsafeListenAny || !overTcp ? undefined : checkRemoteAddress(req.socket.remoteAddress)) ??
      checkHostPresent(req.headers.host, req.httpVersion) ??
      checkFraming(req) ??
      checkRequestTarget(method, url) ??
      checkBrowserRules(
        req.headers,
        allowedHosts(),
        'http',
        req.headers.host,
        isNavigationToOwnPage(method, () => pathOf(url), req.headers),
      )
    )
  }
  if (peers === undefined) return rules
  // The user check comes first: another account learns nothing else about the proxy.
  return function guard(ctx) {
    const allowed = peers(ctx.req.socket)
    if (allowed === true) return rules(ctx)
    if (allowed === false) return refuse.foreignUser()
    return allowed.then((ok) => (ok ? rules(ctx) : refuse.foreignUser()))
  }
}
