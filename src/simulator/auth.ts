// Bearer-token checks as Doorkeeper's `doorkeeper_authorize!` does them: where a token may come
// from, and the exact shape of the 401 and 403 answers, which carry empty bodies and no session
// cookie.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'

export const ALL_SCOPES = ['public', 'redeploy', 'jobs', 'users', 'admin', 'reboot'] as const
export type Scope = (typeof ALL_SCOPES)[number]

export type TokenCheck = { readonly valid: true; readonly scopes: ReadonlySet<string> } | { readonly valid: false; readonly reason: 'invalid' | 'revoked' }

const INVALID: TokenCheck = { valid: false, reason: 'invalid' }
const REVOKED: TokenCheck = { valid: false, reason: 'revoked' }

/** The tokens this simulator accepts, and the ones it has seen revoked. */
export class TokenRegistry {
  readonly #active = new Map<string, TokenCheck>()
  readonly #revoked = new Set<string>()

  set(token: string, scopes: readonly string[]): void {
    this.#revoked.delete(token)
    this.#active.set(token, { valid: true, scopes: new Set(scopes) })
  }

  /** Revoking any token (known or not) makes it answer "was revoked" from now on. */
  revoke(token: string): void {
    this.#active.delete(token)
    this.#revoked.add(token)
  }

  check(token: string): TokenCheck {
    return this.#active.get(token) ?? (this.#revoked.has(token) ? REVOKED : INVALID)
  }
}

const BEARER = /^bearer /i

/**
 * The token a request presents, looked up in Doorkeeper's default order: the Authorization
 * header (scheme case-insensitive), then the `access_token` and `bearer_token` query params.
 * A non-Bearer Authorization header (Basic …) presents nothing by itself.
 */
export function presentedToken(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined {
  const authorization = headers.authorization
  if (authorization !== undefined && BEARER.test(authorization)) return authorization.slice(7)
  return query.get('access_token') ?? query.get('bearer_token') ?? undefined
}

const DESCRIPTIONS = {
  invalid: 'The access token is invalid',
  revoked: 'The access token was revoked',
} as const

export function sendUnauthorized(res: ServerResponse, reason: 'invalid' | 'revoked'): void {
  res.writeHead(401, {
    'content-type': 'text/html',
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'www-authenticate': `Bearer realm="Doorkeeper", error="invalid_token", error_description="${DESCRIPTIONS[reason]}"`,
    'content-length': 0,
  })
  res.end()
}

/** Missing scope: Doorkeeper answers 403 with no body and, unlike 401, no WWW-Authenticate. */
export function sendForbidden(res: ServerResponse): void {
  res.writeHead(403, {
    'content-type': 'text/html',
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'content-length': 0,
  })
  res.end()
}
