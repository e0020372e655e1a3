// Redirect URI rules, after Doorkeeper 5.5's URIChecker: the out-of-band URI, exact matching
// otherwise, and loopback IP literals that match on any port (RFC 8252 §7.3). Answers are built
// as Doorkeeper's URIBuilder builds them.

export const OOB_URI = 'urn:ietf:wg:oauth:2.0:oob'

/** Absolute, hierarchical, no fragment; or the out-of-band URI. */
export function isValidRedirectUri(uri: string): boolean {
  if (uri === OOB_URI) return true
  // Opaque URIs (`myapp:callback`) and fragments are refused; WHATWG URL would accept both.
  if (!/^[a-z][a-z0-9+.-]*:\//i.test(uri) || uri.includes('#')) return false
  try {
    const url = new URL(uri)
    // Ruby parses "localhost:3000/cb" as scheme "localhost"; Doorkeeper refuses that spelling.
    return url.protocol !== 'localhost:'
  } catch {
    return false
  }
}

function isLoopback(url: URL): boolean {
  const host = url.hostname
  return host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** URIChecker.matches?: equal apart from the order of a registered query and loopback ports. */
function matches(uri: string, registered: string): boolean {
  if (uri === OOB_URI || registered === OOB_URI) return uri === registered
  let url: URL
  let client: URL
  try {
    url = new URL(uri)
    client = new URL(registered)
  } catch {
    return false
  }
  if (client.search !== '' && sortedQuery(url.search) !== sortedQuery(client.search)) return false
  const ignorePort = isLoopback(url) && isLoopback(client)
  return (
    url.protocol === client.protocol &&
    url.username === client.username &&
    url.password === client.password &&
    url.hostname === client.hostname &&
    (ignorePort || url.port === client.port) &&
    url.pathname === client.pathname
  )
}

function sortedQuery(search: string): string {
  return search.replace(/^\?/, '').split('&').sort().join('&')
}

/**
 * Whether `uri` may be used with a client registered with `registered`. An empty list stands for
 * the default test client, which takes any loopback http URI and the out-of-band one.
 */
export function redirectUriAllowed(uri: string, registered: readonly string[]): boolean {
  if (!isValidRedirectUri(uri)) return false
  if (registered.length === 0) {
    if (uri === OOB_URI) return true
    const url = new URL(uri)
    return url.protocol === 'http:' && isLoopback(url)
  }
  return registered.some((candidate) => matches(uri, candidate))
}

/**
 * URIBuilder.uri_with_query: `params` merged into the URI's own query (blank values dropped) and
 * form-encoded as Rack does (space as '+'). The rest of the URI is left exactly as given.
 */
export function withQuery(uri: string, params: Readonly<Record<string, string | undefined>>): string {
  const at = uri.indexOf('?')
  const base = at === -1 ? uri : uri.slice(0, at)
  const query = new URLSearchParams(at === -1 ? '' : uri.slice(at + 1))
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== '') query.set(name, value)
  }
  return `${base}?${query.toString()}`
}
