import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { ProxyContext } from '../proxy/request-state.js'
import type { Logger } from '../log.js'
import type { Metrics } from '../metrics.js'
import type { OAuthClient, PendingLogin } from '../oauth/client.js'
import { OAuthError } from '../oauth/errors.js'
import type { StoredToken, TokenStore } from '../store/types.js'
import { readCookie, serializeCookie } from './cookies.js'
import { PAGE_CSP, escapeHtml, page } from './html.js'

export const LOGIN_COOKIE = 'c66p_login'
/** RFC 9700 §4.7: a pending login is one-time and short-lived. */
export const LOGIN_TTL_MS = 10 * 60_000
const PENDING_NAMESPACE = 'login'
/** The longest `return_to` kept with a pending login. */
export const MAX_RETURN_TO = 256

export interface LoginDeps {
  readonly oauth: OAuthClient | undefined
  readonly store: TokenStore
  /** The proxy's public base URL; the redirect URI is `<public>/-/callback`. */
  readonly publicUrl: URL
  /**
   * Keeps the token of a completed login: local mode stores it for the one local user; the
   * gateway finds the member (Cloud 66's resource owner, or the SSO identity) and starts a session.
   */
  readonly completeLogin: (ctx: ProxyContext, token: StoredToken) => Promise<void>
  readonly metrics: Metrics
  readonly log: Logger
  /** Called before a login is started; throws a ProxyError to refuse it (gateway: a per-address rate limit). */
  readonly beforeLogin: (ctx: ProxyContext) => Promise<void> | void
}

interface PendingRecord extends PendingLogin {
  /** SHA-256 of the cookie value that binds this attempt to the browser that started it. */
  readonly binding: string
  readonly returnTo: string
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url')

/** `return_to` may only be a local path: never `//host`, `/\host` or a scheme (open-redirect guard). */
export function safeReturnTo(value: string | undefined): string {
  if (value === undefined || !/^\/(?![/\\])[\x21-\x7e]*$/.test(value)) return '/-/'
  return value
}

function errorPage(ctx: ProxyContext, status: number, title: string, message: string) {
  ctx.status = status
  ctx.type = 'text/html; charset=utf-8'
  ctx.body = page(
    title,
    `<h1>${escapeHtml(title)}</h1><p class="bad">${escapeHtml(message)}</p><p><a href="/-/">Back to the status page</a> · <a href="/-/login">Try logging in again</a></p>`,
  )
}

function noStore(ctx: ProxyContext) {
  ctx.set('Cache-Control', 'no-store')
  ctx.set('Pragma', 'no-cache')
  ctx.set('Referrer-Policy', 'no-referrer')
  ctx.set('Content-Security-Policy', PAGE_CSP)
  ctx.set('X-Frame-Options', 'DENY')
}

/**
 * The browser side of the authorization-code flow (RFC 6749 §4.1 with PKCE, RFC 7636, following
 * RFC 9700): /-/login starts an attempt whose state and verifier live sealed in the store for ten
 * minutes, bound to this browser by an HttpOnly cookie; /-/callback accepts each attempt once.
 */
export type LoginHandlers = ReturnType<typeof createLoginHandlers>

export function createLoginHandlers(deps: LoginDeps) {
  const secure = deps.publicUrl.protocol === 'https:'
  const redirectUri = new URL('/-/callback', deps.publicUrl).href
  // A public URL derived from `--listen HOST:0` names port 0, which no browser can reach, so the
  // redirect URI would send Cloud 66's answer nowhere. Port 0 can only mean "the port the OS
  // picked": that is the port this very request arrived on.
  const redirectUriFor = (ctx: ProxyContext): string => {
    if (deps.publicUrl.port !== '0' || ctx.req.socket.localPort === undefined) return redirectUri
    const bound = new URL(deps.publicUrl)
    bound.port = String(ctx.req.socket.localPort)
    return new URL('/-/callback', bound).href
  }
  const count = (outcome: string) => deps.metrics.logins.inc({ outcome })

  async function login(ctx: ProxyContext) {
    noStore(ctx)
    if (!deps.oauth) {
      errorPage(
        ctx,
        400,
        'Login is not configured',
        'Set C66_CLIENT_ID and C66_CLIENT_SECRET (an OAuth application registered in Cloud 66) and restart the proxy.',
      )
      return
    }
    const returnTo = ctx.query['return_to']
    if (Array.isArray(returnTo)) {
      // Two values would be checked as one joined string and one of them used: refuse instead.
      errorPage(ctx, 400, 'Login failed', 'Give return_to at most once.')
      return
    }
    // A stranger's pending login is stored for ten minutes: its size is bounded (about 1 KB sealed).
    if (returnTo !== undefined && returnTo.length > MAX_RETURN_TO) {
      errorPage(ctx, 400, 'Login failed', `return_to may be at most ${MAX_RETURN_TO} characters.`)
      return
    }
    await deps.beforeLogin(ctx)
    const { url, pending } = await deps.oauth.startLogin(redirectUriFor(ctx))
    const binding = randomBytes(32).toString('base64url')
    const record: PendingRecord = { ...pending, binding: sha256(binding), returnTo: safeReturnTo(returnTo) }
    await deps.store.putOnce(PENDING_NAMESPACE, pending.state, JSON.stringify(record), LOGIN_TTL_MS)
    ctx.set('Set-Cookie', serializeCookie(LOGIN_COOKIE, binding, { path: '/-/', maxAgeSeconds: LOGIN_TTL_MS / 1000, secure }))
    count('started')
    ctx.status = 303
    ctx.set('Location', url.href)
  }

  async function callback(ctx: ProxyContext) {
    noStore(ctx)
    // Whatever happens, this attempt is over for this browser.
    ctx.append('Set-Cookie', serializeCookie(LOGIN_COOKIE, '', { path: '/-/', maxAgeSeconds: 0, secure }))
    const params = new URLSearchParams(ctx.querystring)
    const state = params.get('state')
    const cookie = readCookie(ctx.req.headers, LOGIN_COOKIE)
    if (!deps.oauth || !state) {
      count('invalid_state')
      errorPage(ctx, 400, 'Login failed', 'This callback does not belong to a login started here (no state).')
      return
    }
    const raw = await deps.store.takeOnce(PENDING_NAMESPACE, state)
    if (raw === undefined) {
      count('invalid_state')
      errorPage(ctx, 400, 'Login failed', 'This login link was already used or has expired (logins must finish within 10 minutes). Start again.')
      return
    }
    const pending = JSON.parse(raw) as PendingRecord
    if (cookie === undefined || !sameDigest(sha256(cookie), pending.binding)) {
      count('invalid_state')
      errorPage(
        ctx,
        400,
        'Login failed',
        'This login was started in another browser or the login cookie is missing (state mismatch). Start again from this browser.',
      )
      return
    }
    try {
      const validated = deps.oauth.validateCallback(params, pending)
      const token = await deps.oauth.exchangeCode(validated, pending)
      await deps.completeLogin(ctx, token)
      count('success')
      deps.log.info({ token_fingerprint: token.accessToken.fingerprint, scope: token.scope }, 'login completed')
      ctx.status = 303
      ctx.set('Location', pending.returnTo)
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err
      count(err.oauthError === 'access_denied' ? 'denied' : err.kind)
      deps.log.warn({ oauth_error: err.oauthError, kind: err.kind }, 'login failed')
      errorPage(ctx, err.kind === 'unavailable' ? 502 : 400, err.oauthError === 'access_denied' ? 'Login cancelled' : 'Login failed', err.message)
    }
  }

  return { login, callback, redirectUri }
}

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
