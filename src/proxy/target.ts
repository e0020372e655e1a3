import { paramName } from '../rules/param-names.js'
import { routeTemplate } from './route-template.js'

/** Where a request goes upstream and how it is labelled. */
export interface Target {
  /** `/api/3/...` plus the query, byte for byte except removed token parameters. */
  readonly upstreamPath: string
  /** The path relative to `/api/3`, still percent-encoded, without the query. */
  readonly apiPath: string
  /** The query string without `?` (token parameters removed), or undefined. */
  readonly query: string | undefined
  readonly route: string
}

const API_PREFIX = '/api/3'
/** Doorkeeper (Cloud 66's OAuth server) accepts a token from these query parameters too. */
const TOKEN_PARAMS = new Set(['access_token', 'bearer_token'])

/**
 * Maps a request target to Cloud 66: `/api/3/<rest>` and `/<rest>` both go to `/api/3/<rest>`.
 * The path must already have passed the request-target guards.
 */
export function mapTarget(rawUrl: string): Target {
  const q = rawUrl.indexOf('?')
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q)
  let apiPath = path === API_PREFIX || path.startsWith(`${API_PREFIX}/`) ? path.slice(API_PREFIX.length) : path
  if (apiPath === '') apiPath = '/'
  const query = q === -1 ? undefined : withoutTokenParams(rawUrl.slice(q + 1))
  return {
    upstreamPath: query === undefined ? API_PREFIX + apiPath : `${API_PREFIX}${apiPath}?${query}`,
    apiPath,
    query,
    route: routeTemplate(apiPath),
  }
}

/**
 * Removes `access_token` / `bearer_token` parameters and keeps every other byte as it was: Cloud 66
 * clients send unencoded values, so re-encoding would change what the API sees. Names are compared
 * after decoding (`access%5Ftoken` is the same parameter to Rails), and Rack's old `;` separator
 * is honoured.
 */
export function withoutTokenParams(query: string): string {
  if (!/token|%/i.test(query)) return query
  const kept: string[] = []
  for (const part of query.split('&')) {
    // Filter the ";" pieces one by one: dropping the whole "&" part would also drop a neighbour
    // such as page=2 in "page=2;access_token=…", which Rack 2 reads as a parameter of its own.
    const pieces = part.split(';')
    const left = pieces.filter((p) => !TOKEN_PARAMS.has(paramName(p)))
    if (left.length === pieces.length) kept.push(part)
    else if (left.some((p) => p !== '')) kept.push(left.join(';'))
  }
  return kept.join('&')
}
