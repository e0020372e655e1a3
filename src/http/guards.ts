import type { IncomingHttpHeaders } from 'node:http'
import { isLoopbackHost } from '../net/loopback.js'
import type { ProxyError } from '../errors.js'
import { refuse } from '../refusals.js'

const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])
/** A whole segment of one or two dots, each written "." or "%2e" in any case. */
const DOT_SEGMENT = /\/(?:\.|%2e){1,2}(?=\/|$)/i

/**
 * Request-target rules (RFC 9112 §3.2): only origin-form reaches the proxy, and its path may not
 * hide a different path from Cloud 66's router: no dot-segments (raw or %2e), no backslashes,
 * no encoded slashes, no empty segments, no control characters.
 */
export function checkRequestTarget(method: string, rawUrl: string): ProxyError | undefined {
  if (FORBIDDEN_METHODS.has(method)) return refuse.method(method)
  if (rawUrl === '*') return refuse.asteriskForm()
  if (!rawUrl.startsWith('/')) return refuse.absoluteForm()
  // RFC 9112 §3.2 has no fragment in a request target, yet Node passes `#…` through in req.url.
  // Cloud 66 (like any URL parser) would route only the part before it, so `/accounts/otp#x`
  // would slip past a deny rule for /accounts/otp while reaching that very endpoint.
  if (rawUrl.includes('#')) return refuse.fragment()
  const path = pathOf(rawUrl)
  // One scan for the common case: a path without '\\', '%', control characters or ':' cannot hold
  // a backslash, an encoded character, a control character or an embedded URL, so those rules are
  // only run on paths that have one of them (a CPU profile counted these regexes on every request).
  // eslint-disable-next-line no-control-regex
  if (/[\\%:\x00-\x1f\x7f]/.test(path)) {
    if (path.includes('\\') || /%5c/i.test(path)) return refuse.backslash()
    if (/%2f/i.test(path)) return refuse.encodedSlash()
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x1f\x7f]|%[01][0-9a-f]|%7f/i.test(path)) return refuse.controlChar()
    if (/https?:\//i.test(path)) return refuse.embeddedUrl()
  }
  // An empty segment before the last one is a "//"; a dot-segment needs a "." or a "%2e".
  if (path.includes('//')) return refuse.emptySegment()
  if (DOT_SEGMENT.test(path)) return refuse.dotSegment()
  return undefined
}

/**
 * RFC 9112 §3.2: an HTTP/1.1 request without Host is malformed (400). HTTP/1.0 ones pass here and
 * meet the Host allowlist instead.
 */
export function checkHostPresent(host: string | undefined, httpVersion: string): ProxyError | undefined {
  return host === undefined && httpVersion === '1.1' ? refuse.missingHost() : undefined
}

/** The path of an origin-form request target: everything before the query. */
export function pathOf(rawUrl: string): string {
  const q = rawUrl.indexOf('?')
  return q === -1 ? rawUrl : rawUrl.slice(0, q)
}

/**
 * The Host headers that may address the proxy: the loopback names with the listen port, each
 * `--allowed-hosts` entry (a bare name gets the listen port; `name:port` is taken as written, for
 * a proxy reached on another port: Docker's `-p 127.0.0.1:9000:8066`, a tunnel), and the public
 * URL's host, which the user has said is how the proxy is reached.
 */
export function allowedHostHeaders(port: number, extraNames: readonly string[], publicUrl?: URL): Set<string> {
  const set = new Set<string>()
  const add = (name: string, p: number) => {
    set.add(`${name}:${p}`)
    // Clients leave out the scheme's default port.
    if (p === 80) set.add(name)
  }
  for (const name of ['localhost', '127.0.0.1', '[::1]']) add(name, port)
  for (const entry of extraNames) {
    const { name, port: given } = splitHostEntry(entry.toLowerCase())
    add(name, given ?? port)
  }
  if (publicUrl !== undefined && publicUrl.protocol === 'http:') add(publicUrl.hostname.toLowerCase(), Number(publicUrl.port || 80))
  return set
}

/** `name`, `name:port`, `[v6]` or `[v6]:port` into its name and port (undefined when absent). */
export function splitHostEntry(entry: string): { name: string; port: number | undefined } {
  const colon = entry.startsWith('[') ? entry.indexOf(':', entry.indexOf(']')) : entry.lastIndexOf(':')
  if (colon === -1) return { name: entry, port: undefined }
  return { name: entry.slice(0, colon), port: Number(entry.slice(colon + 1)) }
}

/**
 * The proxy's own pages a browser is legitimately sent to from another site: Cloud 66 redirects
 * back to /-/callback after consent, and the callback's 303 to /-/ keeps that redirect chain's
 * cross-site label. Both are GETs whose answers a foreign page can neither read nor frame; the
 * callback's one effect is guarded by the state bound to the login cookie.
 */
const NAVIGABLE_OWN_PAGES = new Set(['/-/', '/-/callback'])

/** `path` is only computed for a browser navigation, which API calls never are. */
export function isNavigationToOwnPage(method: string, path: () => string, headers: IncomingHttpHeaders): boolean {
  return (
    (method === 'GET' || method === 'HEAD') &&
    headers['sec-fetch-mode'] === 'navigate' &&
    headers['sec-fetch-dest'] === 'document' &&
    NAVIGABLE_OWN_PAGES.has(path())
  )
}

/**
 * Browser-attack rules for a proxy that acts as its user, the lessons of kubectl proxy, aws-vault and Vite:
 * the Host must name the proxy itself (DNS rebinding), and a request a web page made on its own
 * (a foreign Origin, or Sec-Fetch-Site cross-site/same-site) is refused, because a form POST to
 * 127.0.0.1 would otherwise redeploy production with the user's token.
 */
export function checkBrowserRules(
  headers: IncomingHttpHeaders,
  allowedHosts: ReadonlySet<string>,
  /** The scheme callers use (the gateway is reached over https). */
  scheme: 'http' | 'https' = 'http',
  /** The host as the caller addressed it, when a trusted front says so (X-Forwarded-Host). */
  host: string | undefined = headers.host,
  /** isNavigationToOwnPage(): a top-level GET of /-/ or /-/callback may come from another site. */
  navigationToOwnPage = false,
): ProxyError | undefined {
  if (host === undefined || !allowedHosts.has(host.toLowerCase())) {
    return refuse.host()
  }
  const origin = headers.origin
  const prefix = `${scheme}://`
  if (origin !== undefined && !(origin.toLowerCase().startsWith(prefix) && allowedHosts.has(origin.slice(prefix.length).toLowerCase()))) {
    return refuse.origin()
  }
  const site = headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    // Browsers send exactly one lower-case token; anything else (another case, a list made of
    // two headers, an unknown value) is not a browser telling the truth, so it is refused too.
    const token = site.trim().toLowerCase()
    const ownSite = token === 'same-origin' || token === 'none'
    if (!ownSite && !(navigationToOwnPage && (site === 'cross-site' || site === 'same-site'))) {
      return refuse.crossSite()
    }
  }
  return undefined
}

/** Binding to loopback is not a boundary on its own (CVE-2020-8558): the peer must be loopback too. */
export function checkRemoteAddress(remote: string | undefined): ProxyError | undefined {
  // The two addresses almost every local client has, without isLoopbackHost's parsing.
  if (remote === '127.0.0.1' || remote === '::1' || (remote !== undefined && isLoopbackHost(remote))) return undefined
  return refuse.remote()
}
