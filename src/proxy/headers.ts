import type { IncomingHttpHeaders } from 'node:http'

/**
 * Request headers the caller may not send to Cloud 66, by why:
 * - credentials: the proxy brings its own;
 * - hop-by-hop fields (RFC 9110 §7.6.1); `expect` is answered by the proxy itself. The framing
 *   fields `content-length` and `transfer-encoding` are never dropped: Node frames the upstream
 *   request's body by them, and a body sent without them is read by Cloud 66 as the next request;
 * - method overrides: refused before this (errors: method_override), listed here as well so
 *   that no spelling of one can ever reach Rails' Rack::MethodOverride;
 * - who-is-calling headers, which would let a caller lie to whoever reads them:
 *   `x-forwarded-*` (any name with that prefix) and `forwarded` are read by Rails
 *   (ActionDispatch::RemoteIp, request.host, request.ssl?); `client-ip` by Rails' RemoteIp (it
 *   raises IpSpoofAttackError on a mismatch); `x-real-ip` by nginx's realip module and many Rack
 *   middlewares; `true-client-ip` by Akamai and Cloudflare set-ups; `x-client-ip` and
 *   `x-cluster-client-ip` by IP-detection libraries; `cf-connecting-ip` and `fastly-client-ip` by
 *   CDN-aware apps; `x-original-url` and `x-rewrite-url` by IIS and Symfony-style routers, which
 *   route by them instead of the request line (a path no deny rule saw).
 */
const DROPPED_REQUEST = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  'expect',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'forwarded',
  'client-ip',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'x-cluster-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-original-url',
  'x-rewrite-url',
])

/**
 * Response headers that never reach the caller: hop-by-hop ones, cookies Cloud 66 sets, and the
 * upstream's own framing and sniffing policy, which the proxy replaces with its own (below).
 */
const DROPPED_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'set-cookie',
  'content-security-policy',
  'content-security-policy-report-only',
  'x-frame-options',
  'x-content-type-options',
])

/**
 * Added to every proxied answer. It is served from the proxy's own origin, the origin of its
 * pages (and, on a gateway, of /-/api): an HTML or untyped answer from upstream (or anything
 * between) must never run there. A sandbox CSP gives it an opaque origin of its own and no
 * script; nosniff stops a browser from guessing HTML; DENY stops framing.
 */
export const SECURITY_HEADERS = [
  'X-Content-Type-Options',
  'nosniff',
  'Content-Security-Policy',
  "sandbox; default-src 'none'; frame-ancestors 'none'",
  'X-Frame-Options',
  'DENY',
] as const

/**
 * Deletes from `headers`, in place, everything that must not reach the upstream. Names are
 * compared case-insensitively with `_` folded to `-` (the lesson of oauth2-proxy CVE-2025-64484).
 * Fields the caller names in `Connection` are not looked up here: the guard (checkFraming) only
 * lets through Connection options that name hop-by-hop fields, all of which are in the list.
 */
export function stripRequestHeaders(headers: IncomingHttpHeaders): void {
  // `host` is not deleted: the forwarder always replaces it with the upstream's (http-proxy's
  // changeOrigin), and deleting a key that every request has would turn each request's headers
  // object into a slow dictionary-mode object before it is copied for the upstream request.
  for (const name of Object.keys(headers)) {
    const folded = name.includes('_') ? name.replace(/_/g, '-') : name
    if (DROPPED_REQUEST.has(folded) || folded.startsWith('x-forwarded-')) delete headers[name]
  }
}

/** The response headers for the caller, and the body's length when the upstream declared one. */
export interface FilteredHeaders {
  /** `[name, value, …]`, as `writeHead` takes them. */
  readonly headers: string[]
  readonly contentLength: number | undefined
  /** A `Location` with a scheme other than http(s) (`javascript:`, `data:`): the answer must not be passed on. */
  readonly unsafeLocation: boolean
}

/**
 * The response headers to send to the caller, from the upstream's raw `[name, value, …]` list,
 * with a `Location` on the upstream's origin rewritten to `publicOrigin` (see rewriteLocation).
 * Reading Content-Length here spares the hot path Node's lazily built `headers` object.
 */
export function filterResponseHeaders(raw: readonly string[], upstreamOrigin: string, publicOrigin: string): FilteredHeaders {
  let listed: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    // The length first: lower-casing every name twice per answer was measurable.
    const name = raw[i] ?? ''
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue
    const value = raw[i + 1] ?? ''
    // The usual values name no other header; only build the set when there is something to drop.
    // Every Connection header counts: a second one adds to the first's names, never replaces them.
    if (value !== 'keep-alive' && value !== 'close') listed = connectionTokens(value, listed)
  }
  const headers: string[] = []
  let contentLength: number | undefined
  let unsafeLocation = false
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? ''
    const lower = name.toLowerCase()
    // No CORS from the proxy, ever: an upstream Access-Control-* header would open it to web pages.
    if (DROPPED_RESPONSE.has(lower) || listed?.has(lower) || lower.startsWith('access-control-')) continue
    const value = raw[i + 1] ?? ''
    if (lower === 'content-length') contentLength = Number(value)
    if (lower === 'location') {
      if (hasScriptScheme(value)) unsafeLocation = true
      headers.push(name, rewriteLocation(value, upstreamOrigin, publicOrigin))
    } else headers.push(name, value)
  }
  headers.push(...SECURITY_HEADERS)
  return { headers, contentLength, unsafeLocation }
}

function connectionTokens(value: string, into = new Set<string>()): Set<string> {
  for (const t of value.split(',')) {
    const name = t.trim().toLowerCase().replace(/_/g, '-')
    if (name !== '') into.add(name)
  }
  return into
}

/**
 * A `Location` on the upstream's origin is rewritten to the proxy's origin so the caller comes
 * back through the proxy; any other host (a presigned S3 URL) is left alone and never gets a token.
 * Origins are compared as a URL parser sees them, so `HTTPS://App.Cloud66.com:443/…` counts as the
 * upstream too, while the rest of the value (path, query, fragment) is kept byte for byte.
 */
export function rewriteLocation(value: string, upstreamOrigin: string, publicOrigin: string): string {
  // The authority ends at the first "/", "?", "#" or "\\" (browsers read a backslash as "/").
  const m = ABSOLUTE.exec(value)
  if (!m) return value
  const authority = m[1] ?? ''
  if (authority.toLowerCase() !== upstreamOrigin) {
    let origin: string
    try {
      origin = new URL(authority).origin
    } catch {
      return value
    }
    // Only a full origin match counts: https://app.cloud66.com.evil.example and
    // https://app.cloud66.com@evil.example must stay untouched.
    if (origin !== upstreamOrigin) return value
  }
  return publicOrigin + value.slice(authority.length)
}

const ABSOLUTE = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#\\]*)/

/**
 * True for a Location whose scheme is not http or https, the way a browser reads it: leading
 * spaces and control characters are skipped and tabs and newlines anywhere are ignored, so
 * ` java\tscript:` is `javascript:`. Relative Locations (no scheme) are fine.
 */
export function hasScriptScheme(location: string): boolean {
  // eslint-disable-next-line no-control-regex
  const scheme = /^[\x00-\x20]*([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(location.replace(/[\t\n\r]/g, ''))?.[1]?.toLowerCase()
  return scheme !== undefined && scheme !== 'http' && scheme !== 'https'
}
