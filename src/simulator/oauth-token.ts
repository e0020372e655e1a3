// The token endpoint (RFC 6749 §4.1.3, §4.4, §6; RFC 7636 §4.6), revocation (RFC 7009) and
// Doorkeeper's token info, as Doorkeeper 5.5 answers them.
// Each grant checks in Doorkeeper's validation order, because the order decides which error a
// client sees when several things are wrong at once.
import type { IncomingMessage } from 'node:http'
import { clientCredentials, readParams, scopeList } from './oauth-params.js'
import type { OAuthParams } from './oauth-params.js'
import { redirectUriAllowed } from './oauth-redirect-uris.js'
import { OAuthError, sendMetalJson, sendOAuthError, sendToken, sendTokenInfoUnauthorized } from './oauth-respond.js'
import type { TokenBody } from './oauth-respond.js'
import { bump, DEFAULT_SCOPES, KNOWN_SCOPES, s256 } from './oauth-store.js'
import type { Grant, OAuthClient, OAuthStore, TokenRow } from './oauth-store.js'
import type { Params } from './params.js'
import { stringParam } from './params.js'
import type { RequestContext } from './router.js'

// POST /oauth/token

export async function tokenEndpoint(ctx: RequestContext): Promise<void> {
  const store = ctx.sim.oauth
  store.calls.token += 1
  const params = await readParams(ctx)
  if (params === undefined) return
  const grantType = stringParam(params.all, 'grant_type')
  if (grantType !== undefined) bump(store.calls.tokenByGrant, grantType)
  let row: TokenRow
  try {
    row = runGrant(store, ctx.req, params, grantType)
  } catch (err) {
    if (!(err instanceof OAuthError)) throw err
    sendOAuthError(ctx.res, err)
    return
  }
  // `Accept` plays no part (Doorkeeper answers JSON even to a form `Accept`); only the simulator's
  // switch picks the encoding.
  sendToken(ctx.res, tokenBody(row), store.tokenResponseFormat)
}

/** Request.token_strategy: the grant type picks the request; a missing one is invalid_request. */
function runGrant(store: OAuthStore, req: IncomingMessage, params: OAuthParams, grantType: string | undefined): TokenRow {
  // Looked up only when the grant gets that far: its own parameter checks come first.
  const client = (): OAuthClient | undefined => authenticatedClient(store, req, params.all)
  switch (grantType) {
    case undefined:
      throw OAuthError.missing('grant_type')
    case 'authorization_code':
      return redeemCode(store, params.all, client)
    case 'refresh_token':
      return refresh(store, req, params.all)
    case 'client_credentials':
      return clientCredentialsGrant(store, params.all, client())
    default:
      // `password`, `implicit` and anything else: not enabled on Cloud 66's server.
      throw new OAuthError('unsupported_grant_type')
  }
}

/** Server#client: the credentials' client if they authenticate it, else undefined. */
function authenticatedClient(store: OAuthStore, req: IncomingMessage, params: Params): OAuthClient | undefined {
  const credentials = clientCredentials(req.headers.authorization, params)
  return credentials === undefined ? undefined : store.authenticateClient(credentials.clientId, credentials.secret)
}

/** AuthorizationCodeRequest: params (verifier, redirect_uri), client, grant, redirect URI, verifier. */
function redeemCode(store: OAuthStore, params: Params, client: () => OAuthClient | undefined): TokenRow {
  const code = stringParam(params, 'code')
  if (code === undefined) throw OAuthError.missing('code')
  const found = store.grant(code)
  const verifier = stringParam(params, 'code_verifier')
  const redirectUri = stringParam(params, 'redirect_uri')
  if (found?.codeChallenge !== undefined && verifier === undefined) throw OAuthError.missing('code_verifier')
  // `redirect_url` (the docs' spelling) leaves redirect_uri missing, and as nothing below has run,
  // the code is still good for a corrected retry, as in Doorkeeper.
  if (redirectUri === undefined) throw OAuthError.missing('redirect_uri')
  const authenticated = client()
  if (authenticated === undefined) throw new OAuthError('invalid_client')
  if (found === undefined || found.clientId !== authenticated.clientId || !store.grantUsable(found)) throw new OAuthError('invalid_grant')
  if (!redirectUriAllowed(redirectUri, [found.redirectUri])) throw new OAuthError('invalid_grant')
  if (!verifierMatches(found, verifier)) throw new OAuthError('invalid_grant')

  // Only success uses the code up: failed tries above, a wrong PKCE verifier included, leave it
  // redeemable, as in Doorkeeper.
  found.revoked = true
  return store.issue({
    clientId: authenticated.clientId,
    userId: found.userId,
    scopes: found.scopes,
    expiresIn: store.accessTokenTtlSeconds,
    refreshToken: store.issueRefreshTokens,
  })
}

/**
 * RFC 7636 §4.6. A verifier for a code issued without a challenge fails too (Doorkeeper answers
 * invalid_grant), so a client must send one only when it sent a challenge.
 */
function verifierMatches(found: Grant, verifier: string | undefined): boolean {
  if (verifier === undefined) return found.codeChallenge === undefined
  if (found.codeChallengeMethod === 'S256') return found.codeChallenge === s256(verifier)
  if (found.codeChallengeMethod === 'plain') return found.codeChallenge === verifier
  return false
}

/** RefreshTokenRequest: presence, token, client, client match, scope; a refresh rotates both tokens. */
function refresh(store: OAuthStore, req: IncomingMessage, params: Params): TokenRow {
  const presented = stringParam(params, 'refresh_token')
  if (presented === undefined) throw OAuthError.missing('refresh_token')
  const row = store.byRefreshToken(presented)
  // An expired access token's refresh token still works: only revocation counts here.
  if (row === undefined || row.revoked) throw new OAuthError('invalid_grant')
  const credentials = clientCredentials(req.headers.authorization, params)
  const client = credentials === undefined ? undefined : store.authenticateClient(credentials.clientId, credentials.secret)
  if (credentials !== undefined && client === undefined) throw new OAuthError('invalid_client')
  // No client authentication at all is invalid_grant, not invalid_client, as in Doorkeeper 5.5.
  if (row.clientId !== undefined && client?.clientId !== row.clientId) throw new OAuthError('invalid_grant')
  const narrower = stringParam(params, 'scope') ?? stringParam(params, 'scopes')
  const scopes = narrower === undefined ? row.scopes : scopeList(narrower, row.scopes)
  if (scopes === undefined) throw new OAuthError('invalid_scope')

  // Without Doorkeeper's previous_refresh_token column the old pair dies now; with it, only
  // when the new access token is first used (OAuthStore#present), so until then it still works.
  if (!store.revokePreviousOnUse) store.revokeRow(row)
  return store.issue({
    clientId: row.clientId,
    userId: row.userId,
    scopes,
    // "TTL of the token received after refreshing should be the same as that of the original".
    expiresIn: row.expiresIn,
    refreshToken: true,
    previousRefreshToken: store.revokePreviousOnUse ? row.refreshToken : undefined,
  })
}

/** ClientCredentials: an authenticated client, scope `public` unless asked, no refresh token. */
function clientCredentialsGrant(store: OAuthStore, params: Params, client: OAuthClient | undefined): TokenRow {
  if (client === undefined) throw new OAuthError('invalid_client')
  const asked = stringParam(params, 'scope')
  const scopes = asked === undefined ? DEFAULT_SCOPES : scopeList(asked, KNOWN_SCOPES)
  if (scopes === undefined) throw new OAuthError('invalid_scope')
  return store.issue({ clientId: client.clientId, userId: undefined, scopes, expiresIn: store.accessTokenTtlSeconds, refreshToken: false })
}

function tokenBody(row: TokenRow): TokenBody {
  return {
    access_token: row.accessToken,
    token_type: 'Bearer',
    ...(row.expiresIn === undefined ? {} : { expires_in: row.expiresIn }),
    ...(row.refreshToken === undefined ? {} : { refresh_token: row.refreshToken }),
    ...(row.scopes.length === 0 ? {} : { scope: row.scopes.join(' ') }),
    created_at: Math.floor(row.createdAt / 1000),
  }
}

// POST /oauth/revoke

const REVOKE_REFUSED = { error: 'unauthorized_client', error_description: 'You are not authorized to revoke this token' }

/**
 * TokensController#revoke, which needs client authentication; token_type_hint is ignored, as
 * Doorkeeper does.
 */
export async function revokeToken(ctx: RequestContext): Promise<void> {
  const store = ctx.sim.oauth
  store.calls.revoke += 1
  const params = await readParams(ctx)
  if (params === undefined) return
  const client = authenticatedClient(store, ctx.req, params.all)
  if (client === undefined) return sendMetalJson(ctx.res, 403, REVOKE_REFUSED)

  const presented = stringParam(params.all, 'token')
  const row = presented === undefined ? undefined : (store.byAccessToken(presented) ?? store.byRefreshToken(presented))
  if (row === undefined) {
    // A token given through `tokens`/setToken is a personal token with no application: any
    // authenticated client may revoke it. Unknown tokens get the same 200 (RFC 7009 §2.2).
    if (presented !== undefined) {
      const facts = store.tokens.facts(presented)
      if (facts.check.valid && !facts.expired) store.tokens.revoke(presented)
    }
    return sendMetalJson(ctx.res, 200, {})
  }
  // A confidential client's token may be revoked by that client only.
  const owner = row.clientId === undefined ? undefined : store.client(row.clientId)
  if (owner?.confidential === true && owner.clientId !== client.clientId) return sendMetalJson(ctx.res, 403, REVOKE_REFUSED)
  // Doorkeeper 5.5 revokes only an accessible row (`token.revoke if token&.accessible?`): the
  // refresh token of an EXPIRED access token survives a revocation and still refreshes.
  if (store.accessible(row)) store.revokeRow(row)
  sendMetalJson(ctx.res, 200, {})
}

// GET /oauth/token/info

/** TokenInfoController#show: the token as JSON, or InvalidTokenResponse (always "is invalid"). */
export function tokenInfo(ctx: RequestContext): void {
  const store = ctx.sim.oauth
  const token = ctx.record.token
  const facts = token === undefined ? undefined : store.present(token)
  if (token === undefined || facts === undefined || !facts.check.valid || facts.expired) {
    sendTokenInfoUnauthorized(ctx.res)
    return
  }
  const row = store.byAccessToken(token)
  const now = store.clock.now()
  sendMetalJson(ctx.res, 200, {
    resource_owner_id: row === undefined ? (store.userOf(token) ?? null) : (row.userId ?? null),
    scope: row === undefined ? [...facts.check.scopes] : row.scopes,
    // Expirable#expires_in_seconds: what is left, rounded, never below 0.
    expires_in: facts.expiresAt === undefined ? null : Math.max(0, Math.round((facts.expiresAt - now) / 1000)),
    application: { uid: row?.clientId ?? null },
    created_at: Math.floor((row?.createdAt ?? facts.createdAt ?? now) / 1000),
  })
}
