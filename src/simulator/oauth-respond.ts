// Doorkeeper's OAuth answers, texts and headers (after Doorkeeper 5.5's config/locales/en.yml,
// ErrorResponse, TokenResponse): JSON errors carry WWW-Authenticate even on a 400, successes and
// errors alike carry no-store/no-cache, and none sets a session cookie (the token endpoints run
// on ActionController::Metal).
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { JSON_TYPE } from './respond.js'

export const FORM_TYPE = 'application/x-www-form-urlencoded; charset=utf-8'

export const DESCRIPTIONS = {
  invalid_request: 'The request is missing a required parameter, includes an unsupported parameter value, or is otherwise malformed.',
  invalid_redirect_uri: "The requested redirect uri is malformed or doesn't match client redirect URI.",
  unauthorized_client: 'The client is not authorized to perform this request using this method.',
  access_denied: 'The resource owner or authorization server denied the request.',
  invalid_scope: 'The requested scope is invalid, unknown, or malformed.',
  invalid_code_challenge_method: 'The code challenge method must be plain or S256.',
  unsupported_response_type: 'The authorization server does not support this response type.',
  invalid_client: 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.',
  invalid_grant:
    'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.',
  unsupported_grant_type: 'The authorization grant type is not supported by the authorization server.',
} as const

export type OAuthErrorCode = keyof typeof DESCRIPTIONS

/** An RFC 6749 §5.2 error as Doorkeeper words it. */
export class OAuthError extends Error {
  readonly code: OAuthErrorCode

  constructor(code: OAuthErrorCode, description: string = DESCRIPTIONS[code]) {
    super(description)
    this.name = 'OAuthError'
    this.code = code
  }

  /** InvalidRequestResponse with a missing parameter: "Missing required parameter: code_verifier." */
  static missing(param: string): OAuthError {
    return new OAuthError('invalid_request', `Missing required parameter: ${param}.`)
  }

  /** ErrorResponse#status: 401 for the client errors, 400 for everything else. */
  get status(): number {
    return this.code === 'invalid_client' || this.code === 'unauthorized_client' ? 401 : 400
  }

  /** May go back to the client's redirect URI (ErrorResponse#redirectable?, before its out-of-band check). */
  get redirectable(): boolean {
    return this.code !== 'invalid_redirect_uri' && this.code !== 'invalid_client' && this.code !== 'unauthorized_client'
  }
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const

function send(res: ServerResponse, status: number, type: string, payload: string, headers: OutgoingHttpHeaders = {}): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, { ...headers, 'content-type': type, 'content-length': Buffer.byteLength(payload) })
  res.end(payload)
}

/** The token endpoint's error: JSON body, WWW-Authenticate, no-store and no-cache. */
export function sendOAuthError(res: ServerResponse, err: OAuthError): void {
  send(res, err.status, JSON_TYPE, JSON.stringify({ error: err.code, error_description: err.message }), {
    ...NO_STORE,
    'www-authenticate': `Bearer realm="Doorkeeper", error="${err.code}", error_description="${err.message}"`,
  })
}

/** TokenResponse#body: fields in Doorkeeper's order, blank ones left out. */
export interface TokenBody {
  readonly access_token: string
  readonly token_type: 'Bearer'
  readonly expires_in?: number
  readonly refresh_token?: string
  readonly scope?: string
  readonly created_at: number
}

/**
 * A successful token answer. 'form' is the `access_token=…&token_type=bearer` encoding Cloud 66's
 * docs describe (copied from GitHub's); Doorkeeper itself always answers JSON, whatever Accept says.
 */
export function sendToken(res: ServerResponse, body: TokenBody, format: 'json' | 'form'): void {
  if (format === 'json') {
    send(res, 200, JSON_TYPE, JSON.stringify(body), NO_STORE)
    return
  }
  const form = new URLSearchParams()
  for (const [name, value] of Object.entries(body)) {
    if (value !== undefined) form.set(name, name === 'token_type' ? 'bearer' : String(value))
  }
  send(res, 200, FORM_TYPE, form.toString(), NO_STORE)
}

/** Plain JSON from a Metal controller (revoke, token/info): no cookie, Rails' default caching. */
export function sendMetalJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, JSON_TYPE, JSON.stringify(body), { 'cache-control': 'max-age=0, private, must-revalidate', ...headers })
}

/** Routing misses Doorkeeper leaves to Rails' production 404: empty body. */
export function sendEmpty(res: ServerResponse, status: number, headers: OutgoingHttpHeaders = {}): void {
  send(res, status, 'text/html', '', headers)
}

/** The 401 of GET /oauth/token/info (TokenInfoController): InvalidTokenResponse.new as JSON. */
export function sendTokenInfoUnauthorized(res: ServerResponse): void {
  const description = 'The access token is invalid'
  send(res, 401, JSON_TYPE, JSON.stringify({ error: 'invalid_token', error_description: description, state: 'unauthorized' }), {
    ...NO_STORE,
    'www-authenticate': `Bearer realm="Doorkeeper", error="invalid_token", error_description="${description}"`,
  })
}
