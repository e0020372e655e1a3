import type { BlockList } from 'node:net'
import type { Config } from '../../config/types.js'
import { fromTrustedProxy } from '../../gateway/identify.js'
import { checkFraming } from '../framing.js'
import { checkBrowserRules, checkHostPresent, checkRequestTarget, isNavigationToOwnPage, pathOf } from '../guards.js'
import type { RequestGuard } from '../local-guard.js'
import { clientAddress } from '../../net/client-address.js'

/** Probes (load balancers, Kubernetes) address a replica by its own IP: they are exempt from the Host rule. */
const PROBES = new Set(['/-/healthz', '/-/readyz'])

/**
 * The gateway's request rules: the same request-target rules as local mode; the Host must be the
 * public URL's (or X-Forwarded-Host from a trusted front), and browsers may only call from the
 * public origin. Clients may come from anywhere: every API request must carry a gateway key.
 */
export function gatewayGuard(config: Config, trusted: BlockList): RequestGuard {
  const hosts = new Set([config.publicUrl.host.toLowerCase(), ...config.allowedHosts])
  const scheme = config.publicUrl.protocol === 'https:' ? 'https' : 'http'
  return function guard(ctx) {
    const req = ctx.req
    ctx.state.client = clientAddress(req, trusted)
    const method = req.method ?? 'GET'
    const url = req.url ?? ''
    const forwardedHost = fromTrustedProxy(req, trusted) ? firstValue(req.headers['x-forwarded-host']) : undefined
    return (
      checkHostPresent(req.headers.host, req.httpVersion) ??
      checkFraming(req) ??
      checkRequestTarget(method, url) ??
      (PROBES.has(pathOf(url))
        ? undefined
        : checkBrowserRules(
            req.headers,
            hosts,
            scheme,
            forwardedHost ?? req.headers.host,
            isNavigationToOwnPage(method, () => pathOf(url), req.headers),
          ))
    )
  }
}

function firstValue(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value
  return v?.split(',')[0]?.trim() || undefined
}
