// The authorization endpoint (RFC 6749 §4.1.1-4.1.2) as Doorkeeper 5.5's AuthorizationsController
// runs it: GET validates the request and shows the consent page (or an error page, never a
// redirect); the page's Authorize and Deny forms POST back here, CSRF-checked, and are answered
// with a 302 to the client's redirect URI.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { escapeHtml, PAGE_CSP, renderConsent, renderError, renderNativeCode } from './consent-page.js'
import type { ConsentFields } from './consent-page.js'
import { readParams, scopeList } from './oauth-params.js'
import { OOB_URI, redirectUriAllowed, withQuery } from './oauth-redirect-uris.js'
import { OAuthError, sendEmpty } from './oauth-respond.js'
import { csrfTokenValid, existingSession, formToken, openSession, pageToken, sessionCookie } from './oauth-session.js'
import { DEFAULT_SCOPES, KNOWN_SCOPES } from './oauth-store.js'
import type { OAuthClient, OAuthStore } from './oauth-store.js'
import type { Params } from './params.js'
import { queryParams, stringParam } from './params.js'
import { JSON_TYPE } from './respond.js'
import type { RequestContext } from './router.js'

const AUTHORIZE_PATH = '/oauth/authorize'

/** A request that passed PreAuthorization's validations. */
interface PreAuth {
  readonly client: OAuthClient
  readonly redirectUri: string
  readonly responseType: string
  /** The `scope` parameter as given, or the default; what the consent forms carry on. */
  readonly scope: string
  readonly scopes: readonly string[]
  readonly state: string | undefined
  readonly codeChallenge: string | undefined
  readonly codeChallengeMethod: string | undefined
}

type PreAuthResult =
  | { readonly ok: true; readonly pre: PreAuth }
  /** `redirectUri` is set once the redirect URI itself has passed, so the error may go there. */
  | { readonly ok: false; readonly error: OAuthError; readonly redirectUri: string | undefined; readonly state: string | undefined }

/** PreAuthorization's validations, in Doorkeeper's order; the first failure decides. */
function preAuthorize(store: OAuthStore, params: Params): PreAuthResult {
  const state = stringParam(params, 'state')
  const fail = (error: OAuthError, redirectUri?: string): PreAuthResult => ({ ok: false, error, redirectUri, state })

  const clientId = stringParam(params, 'client_id')
  if (clientId === undefined) return fail(OAuthError.missing('client_id'))
  const client = store.client(clientId)
  if (client === undefined) return fail(new OAuthError('invalid_client'))
  // Cloud 66's docs say `redirect_url`; it is not read, so the URI is missing and Doorkeeper shows
  // its invalid_redirect_uri error page.
  const redirectUri = stringParam(params, 'redirect_uri')
  if (redirectUri === undefined || !redirectUriAllowed(redirectUri, client.redirectUris)) return fail(new OAuthError('invalid_redirect_uri'))

  const responseType = stringParam(params, 'response_type')
  if (responseType === undefined) return fail(OAuthError.missing('response_type'), redirectUri)
  if (responseType !== 'code') return fail(new OAuthError('unsupported_response_type'), redirectUri)

  const given = stringParam(params, 'scope')
  const scope = given === undefined || given.trim() === '' ? DEFAULT_SCOPES.join(' ') : given
  const scopes = scopeList(scope, KNOWN_SCOPES)
  if (scopes === undefined) return fail(new OAuthError('invalid_scope'), redirectUri)

  const codeChallenge = stringParam(params, 'code_challenge')
  const codeChallengeMethod = stringParam(params, 'code_challenge_method')
  if (codeChallenge !== undefined && codeChallengeMethod !== 'S256' && codeChallengeMethod !== 'plain') {
    return fail(new OAuthError('invalid_code_challenge_method'), redirectUri)
  }
  return { ok: true, pre: { client, redirectUri, responseType, scope, scopes, state, codeChallenge, codeChallengeMethod } }
}

// GET /oauth/authorize

export function authorizeRequest(ctx: RequestContext): void {
  const store = ctx.sim.oauth
  store.calls.authorize += 1
  const result = preAuthorize(store, queryParams(ctx.url.searchParams))
  if (!result.ok) {
    sendHtml(ctx.res, 200, renderError(result.error.message))
    return
  }
  const { pre } = result
  const { id, session, isNew } = openSession(store, ctx.req)
  const cookie: OutgoingHttpHeaders = isNew ? { 'set-cookie': sessionCookie(id) } : {}

  // The same user already holds an unrevoked token of this confidential client with exactly these
  // scopes, so Doorkeeper skips the page and redirects with a new code; any other scope set, even a
  // subset, shows it. Public clients always see it (CVE-2023-34246).
  const userId = session.userId
  if (userId !== undefined && pre.client.confidential && store.hasMatchingToken(pre.client.clientId, userId, pre.scopes)) {
    redirectWithCode(ctx, pre, userId, cookie)
    return
  }

  const fields: ConsentFields = {
    client_id: pre.client.clientId,
    redirect_uri: pre.redirectUri,
    state: pre.state ?? '',
    response_type: pre.responseType,
    scope: pre.scope,
    code_challenge: pre.codeChallenge ?? '',
    code_challenge_method: pre.codeChallengeMethod ?? '',
  }
  const html = renderConsent({
    clientName: pre.client.clientId,
    scopes: pre.scopes,
    fields,
    users: store.users,
    pageToken: pageToken(session),
    authorizeToken: formToken(session, AUTHORIZE_PATH, 'post'),
    denyToken: formToken(session, AUTHORIZE_PATH, 'delete'),
  })
  sendHtml(ctx.res, 200, html, cookie)
}

// POST (Authorize) and DELETE or POST _method=delete (Deny) /oauth/authorize

export async function authorizeDecision(ctx: RequestContext): Promise<void> {
  const params = await readParams(ctx)
  if (params === undefined) return
  const override = stringParam(params.body, '_method')?.toLowerCase()
  const method = ctx.req.method === 'POST' && override === 'delete' ? 'delete' : (ctx.req.method ?? 'POST').toLowerCase()

  // protect_from_forgery runs first: session cookie plus a token valid for this form, else an
  // empty 422.
  const store = ctx.sim.oauth
  const found = existingSession(store, ctx.req)
  const presented = stringParam(params.all, 'authenticity_token') ?? header(ctx, 'x-csrf-token')
  if (found === undefined || !csrfTokenValid(found.session, presented, AUTHORIZE_PATH, method)) {
    sendEmpty(ctx.res, 422)
    return
  }

  const result = preAuthorize(store, params.all)
  if (!result.ok) {
    sendErrorResponse(ctx.res, result.error, result.redirectUri, result.state)
    return
  }
  const { pre } = result
  if (method === 'delete') {
    // CodeRequest#deny. Unlike Doorkeeper 5.5.0 the request is validated first, so a forged Deny
    // cannot turn the simulator into an open redirector.
    sendErrorResponse(ctx.res, new OAuthError('access_denied'), pre.redirectUri, pre.state)
    return
  }
  const chosen = Number(stringParam(params.all, 'user_id'))
  const userId = store.user(chosen)?.id ?? store.users[0]!.id
  found.session.userId = userId
  redirectWithCode(ctx, pre, userId, {})
}

/** CodeResponse: a new code to the redirect URI, or to the native page for the out-of-band URI. */
function redirectWithCode(ctx: RequestContext, pre: PreAuth, userId: number, headers: OutgoingHttpHeaders): void {
  const grant = ctx.sim.oauth.createGrant({
    clientId: pre.client.clientId,
    userId,
    redirectUri: pre.redirectUri,
    scopes: pre.scopes,
    codeChallenge: pre.codeChallenge,
    codeChallengeMethod: pre.codeChallenge === undefined ? undefined : pre.codeChallengeMethod,
  })
  const location =
    pre.redirectUri === OOB_URI
      ? `http://${ctx.req.headers.host ?? new URL(ctx.sim.origin).host}/oauth/authorize/native?code=${encodeURIComponent(grant.code)}`
      : withQuery(pre.redirectUri, { code: grant.code, state: pre.state })
  redirect(ctx.res, location, headers)
}

/**
 * redirect_or_render for an error: back to the client when ErrorResponse#redirectable? (a redirect
 * URI that passed, not out-of-band), else Doorkeeper's `render json: auth.body, status:`.
 */
function sendErrorResponse(res: ServerResponse, error: OAuthError, redirectUri: string | undefined, state: string | undefined): void {
  if (error.redirectable && redirectUri !== undefined && redirectUri !== OOB_URI) {
    redirect(res, withQuery(redirectUri, { error: error.code, error_description: error.message, state }), {})
    return
  }
  const body = JSON.stringify({ error: error.code, error_description: error.message, ...(state === undefined ? {} : { state }) })
  res.writeHead(error.status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' })
  res.end(body)
}

// GET /oauth/authorize/native?code=…

export function nativeCode(ctx: RequestContext): void {
  sendHtml(ctx.res, 200, renderNativeCode(ctx.url.searchParams.get('code') ?? ''))
}

function header(ctx: RequestContext, name: string): string | undefined {
  const value = ctx.req.headers[name]
  return typeof value === 'string' && value !== '' ? value : undefined
}

function sendHtml(res: ServerResponse, status: number, html: string, headers: OutgoingHttpHeaders = {}): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'max-age=0, private, must-revalidate',
    'content-security-policy': PAGE_CSP,
    'x-frame-options': 'SAMEORIGIN',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'strict-origin-when-cross-origin',
    ...headers,
  })
  res.end(html)
}

/** Rails' redirect_to: 302, `Cache-Control: no-cache` and the "You are being redirected" body. */
function redirect(res: ServerResponse, location: string, headers: OutgoingHttpHeaders): void {
  if (res.headersSent || res.destroyed) return
  const body = `<html><body>You are being <a href="${escapeHtml(location)}">redirected</a>.</body></html>`
  res.writeHead(302, {
    location,
    'cache-control': 'no-cache',
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  })
  res.end(body)
}
