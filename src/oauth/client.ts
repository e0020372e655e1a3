import * as oauth from 'oauth4webapi'
import type { Clock } from '../clock.js'
import { Secret } from '../secret.js'
import type { StoredToken } from '../store/types.js'
import { OAuthError } from './errors.js'
import { normaliseTokenResponse } from './form-response.js'

export interface OAuthSettings {
  /** Cloud 66 origin; endpoints are `<upstream>/oauth/{authorize,token,revoke,token/info}`, as the cx toolbelt derives them. */
  readonly upstream: URL
  readonly clientId: string
  readonly clientSecret: Secret | undefined
  /** RFC 6749 §2.3.1: credentials in the form body (default; what the Ruby clients do) or HTTP Basic (what cx does). */
  readonly clientAuth: 'body' | 'basic'
  /** Space-separated (the docs' "comma separated" is wrong: §1.2). */
  readonly scopes: string
  readonly timeoutMs: number
}

export { OAuthError } from './errors.js'

/** One authorization attempt: what must survive between /-/login and /-/callback. */
export interface PendingLogin {
  readonly state: string
  readonly codeVerifier: string
  readonly redirectUri: string
}

export interface OAuthClient {
  /** RFC 6749 §4.1.1 + RFC 7636 §4.3: the authorize URL for a new attempt, and what to remember. */
  startLogin(redirectUri: string): Promise<{ url: URL; pending: PendingLogin }>
  /** RFC 6749 §4.1.2: checks `state` and `error` of the redirect back; returns the parameters to redeem. */
  validateCallback(params: URLSearchParams, pending: PendingLogin): URLSearchParams
  /** RFC 6749 §4.1.3: redeems the code (with the PKCE verifier). */
  exchangeCode(callbackParams: URLSearchParams, pending: PendingLogin): Promise<StoredToken>
  /** RFC 6749 §6: a new token from a refresh token (Doorkeeper rotates both, §9 items 16-18). */
  refresh(refreshToken: Secret): Promise<StoredToken>
  /** RFC 7009: revokes a token (client-authenticated, §9 item 23). */
  revoke(token: Secret): Promise<void>
  /** Doorkeeper's GET /oauth/token/info: who the token belongs to. */
  tokenInfo(token: Secret): Promise<{ resourceOwnerId: string | undefined; scope: string | undefined }>
}

export { OOB_REDIRECT_URI } from './errors.js'

export function createOAuthClient(settings: OAuthSettings, clock: Clock, fetchImpl: typeof fetch = fetch): OAuthClient {
  const base = settings.upstream.origin
  const as: oauth.AuthorizationServer = {
    issuer: base,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: `${base}/oauth/token`,
    revocation_endpoint: `${base}/oauth/revoke`,
  }
  const client: oauth.Client = { client_id: settings.clientId }
  const secret = settings.clientSecret
  const clientAuth: oauth.ClientAuth =
    secret === undefined ? oauth.None() : settings.clientAuth === 'basic' ? doorkeeperBasic(settings.clientId, secret) : oauth.ClientSecretPost(secret.reveal())
  const insecure = settings.upstream.protocol === 'http:'
  const requestOptions = () => ({
    [oauth.allowInsecureRequests]: insecure,
    signal: AbortSignal.timeout(settings.timeoutMs),
    headers: new Headers({ accept: 'application/json' }),
    [oauth.customFetch]: async (url: string, init: oauth.CustomFetchOptions<string, unknown>) =>
      normaliseTokenResponse(await fetchImpl(url, init as RequestInit)),
  })

  const toStored = (res: oauth.TokenEndpointResponse): StoredToken => {
    const createdAt = typeof res['created_at'] === 'number' ? res['created_at'] * 1000 : clock.now()
    return {
      accessToken: new Secret(res.access_token),
      refreshToken: typeof res.refresh_token === 'string' && res.refresh_token !== '' ? new Secret(res.refresh_token) : undefined,
      tokenType: typeof res['token_type'] === 'string' ? String(res['token_type']) : 'bearer',
      scope: res.scope,
      // Measured from our clock, not created_at: the two clocks may disagree, ours decides refresh.
      expiresAt: typeof res.expires_in === 'number' && res.expires_in > 0 ? clock.now() + res.expires_in * 1000 : undefined,
      obtainedAt: createdAt,
      origin: 'oauth',
    }
  }

  return {
    async startLogin(redirectUri) {
      const codeVerifier = oauth.generateRandomCodeVerifier()
      const state = oauth.generateRandomState()
      const url = new URL(as.authorization_endpoint as string)
      url.searchParams.set('response_type', 'code')
      url.searchParams.set('client_id', settings.clientId)
      url.searchParams.set('redirect_uri', redirectUri)
      url.searchParams.set('scope', settings.scopes)
      url.searchParams.set('state', state)
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier))
      url.searchParams.set('code_challenge_method', 'S256')
      return { url, pending: { state, codeVerifier, redirectUri } }
    },

    validateCallback(params, pending) {
      try {
        return oauth.validateAuthResponse(as, client, params, pending.state)
      } catch (err) {
        if (err instanceof oauth.AuthorizationResponseError) {
          throw new OAuthError(
            'rejected',
            err.error,
            err.error === 'access_denied' ? 'You declined the authorization request on Cloud 66' : `Cloud 66 refused the authorization (${err.error})`,
          )
        }
        throw new OAuthError('invalid_response', undefined, 'The authorization response did not match this login attempt (state mismatch)', { cause: err })
      }
    },

    async exchangeCode(callbackParams, pending) {
      return toStored(
        await call(
          () => oauth.authorizationCodeGrantRequest(as, client, clientAuth, callbackParams, pending.redirectUri, pending.codeVerifier, requestOptions()),
          (res) => oauth.processAuthorizationCodeResponse(as, client, res),
        ),
      )
    },

    async refresh(refreshToken) {
      return toStored(
        await call(
          () => oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken.reveal(), requestOptions()),
          (res) => oauth.processRefreshTokenResponse(as, client, res),
        ),
      )
    },

    async revoke(token) {
      await call(
        () => oauth.revocationRequest(as, client, clientAuth, token.reveal(), requestOptions()),
        (res) => oauth.processRevocationResponse(res),
      )
    },

    async tokenInfo(token) {
      let res: Response
      try {
        res = await fetchImpl(`${base}/oauth/token/info`, {
          headers: { authorization: `Bearer ${token.reveal()}`, accept: 'application/json' },
          signal: AbortSignal.timeout(settings.timeoutMs),
        })
      } catch (err) {
        throw new OAuthError('unavailable', undefined, 'Cloud 66 could not be reached', { cause: err })
      }
      if (res.status === 401) throw new OAuthError('invalid_grant', 'invalid_token', 'Cloud 66 does not accept this token')
      if (!res.ok) throw new OAuthError('rejected', undefined, `Cloud 66 answered ${res.status} to the token info request`)
      const body = (await res.json().catch(() => ({}))) as { resource_owner_id?: unknown; scope?: unknown; scopes?: unknown }
      const scope = Array.isArray(body.scopes) ? body.scopes.join(' ') : typeof body.scope === 'string' ? body.scope : undefined
      return { resourceOwnerId: body.resource_owner_id == null ? undefined : String(body.resource_owner_id), scope }
    },
  }
}

/**
 * HTTP Basic client authentication as Doorkeeper reads it: base64 of `id:secret` as they are.
 * oauth4webapi's ClientSecretBasic form-encodes both first (RFC 6749 §2.3.1), turning `-`, `_`,
 * `.`, `~` and friends into %XX; Doorkeeper (ClientSecretBasic, Credentials.from_basic) splits the
 * decoded header without unescaping, so it would compare `sim%2Dclient` with `sim-client` and
 * refuse the client (401 invalid_client). The cx toolbelt (Go's goauth2) sends the credentials raw too.
 */
function doorkeeperBasic(clientId: string, secret: Secret): oauth.ClientAuth {
  return (_as, _client, _body, headers) => {
    headers.set('authorization', `Basic ${Buffer.from(`${clientId}:${secret.reveal()}`, 'utf8').toString('base64')}`)
  }
}

/** Runs one request/response step, translating every foreign failure into an OAuthError. */
async function call<T>(send: () => Promise<Response>, process: (res: Response) => Promise<T>): Promise<T> {
  let res: Response
  try {
    res = await send()
  } catch (err) {
    // oauth4webapi checks what it is given before anything is sent (a callback without a code,
    // parameters that did not come from validateAuthResponse). Such a failure is about the answer
    // in hand, not about reaching Cloud 66: calling it "unreachable" (502) would send people
    // looking for a network problem that is not there.
    if (err instanceof oauth.OperationProcessingError || isArgumentError(err)) {
      throw new OAuthError('invalid_response', undefined, 'The answer from Cloud 66 cannot be redeemed (no authorization code in it?)', { cause: err })
    }
    throw new OAuthError('unavailable', undefined, 'Cloud 66 could not be reached', { cause: err })
  }
  try {
    return await process(res)
  } catch (err) {
    // Doorkeeper sends `WWW-Authenticate: Bearer …, error="invalid_grant"` with EVERY token-endpoint
    // error, 400s included (Doorkeeper 5.5 does), and oauth4webapi then reports the challenge
    // (WWWAuthenticateChallengeError) instead of the JSON body. Read the code from the challenge, or
    // an invalid_grant would look like a malformed answer: no recovery from a sibling's rotation, no
    // "login required", just an error on every request.
    const refused =
      err instanceof oauth.ResponseBodyError
        ? err.error
        : err instanceof oauth.WWWAuthenticateChallengeError
          ? (err.cause.find((c) => typeof c.parameters.error === 'string')?.parameters.error ?? (await errorCodeInBody(res)))
          : undefined
    if (refused !== undefined) {
      const kind = refused === 'invalid_grant' ? 'invalid_grant' : 'rejected'
      throw new OAuthError(kind, refused, `Cloud 66 refused the request (${refused})`)
    }
    if (res.status >= 500) throw new OAuthError('unavailable', undefined, `Cloud 66 answered ${res.status}`, { cause: err })
    throw new OAuthError('invalid_response', undefined, 'Cloud 66 sent an answer that is not a valid token response', { cause: err })
  }
}

function isArgumentError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  return err instanceof TypeError && (code === 'ERR_INVALID_ARG_VALUE' || code === 'ERR_INVALID_ARG_TYPE')
}

/** The RFC 6749 §5.2 `error` of a JSON error body not yet read, if there is one. */
async function errorCodeInBody(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.clone().json()) as { error?: unknown }
    return typeof body.error === 'string' ? body.error : undefined
  } catch {
    return undefined
  }
}
