// Driving the proxy's OAuth login the way a browser would, over plain HTTP: /-/login, the
// simulator's consent page (Authorize or Deny), the redirect back to /-/callback with the login
// cookie. `redirect: 'manual'` everywhere, so every 302/303 is seen as sent.
import type { ExecutionContext } from 'ava'
import type { Simulator } from '../../src/simulator/index.js'
import type { StoredToken } from '../../src/store/types.js'
import { LOCAL_CALLER } from '../../src/tokens/token-service.js'
import { CLIENT_ID, CLIENT_SECRET, parseForms, submit, type HtmlForm } from './oauth-sim.js'
import { startProxy, type ProxyOptions, type StartedProxy } from './proxy.js'

export type OAuthProxyOptions = Omit<ProxyOptions, 'upstream'>

/** The real proxy, in-process, configured as the simulator's default confidential OAuth client. */
export function startOAuthProxy(t: ExecutionContext, sim: Simulator, options: OAuthProxyOptions = {}): Promise<StartedProxy> {
  return startProxy(t, {
    upstream: sim.url,
    flags: { clientId: CLIENT_ID, ...options.flags },
    env: { C66_CLIENT_SECRET: CLIENT_SECRET, ...options.env },
    ...(options.io === undefined ? {} : { io: options.io }),
  })
}

/** `name=value` of the Set-Cookie lines of `res` that set `name`. */
export function cookiesNamed(res: Response, name: string): string[] {
  return res.headers.getSetCookie().filter((line) => line.startsWith(`${name}=`))
}

/** The `name=value` part of the Set-Cookie line for `name`, ready for a Cookie header. */
export function cookiePair(res: Response, name: string): string {
  const line = cookiesNamed(res, name)[0]
  if (line === undefined) throw new Error(`no Set-Cookie for ${name}: ${JSON.stringify(res.headers.getSetCookie())}`)
  return line.split(';', 1)[0] ?? ''
}

export interface StartedLogin {
  readonly res: Response
  /** Where /-/login sent the browser: the simulator's /oauth/authorize with every parameter. */
  readonly authorizeUrl: URL
  /** The full Set-Cookie line of the login cookie. */
  readonly setCookie: string
  /** `c66p_login=…`, for the Cookie header of the callback. */
  readonly cookie: string
  readonly state: string
}

/** GET /-/login (with an optional query such as `?return_to=…`). */
export async function startLogin(proxy: StartedProxy, query = ''): Promise<StartedLogin> {
  const res = await fetch(`${proxy.url}/-/login${query}`, { redirect: 'manual' })
  await res.arrayBuffer()
  if (res.status !== 303) throw new Error(`/-/login answered ${res.status}`)
  const authorizeUrl = new URL(res.headers.get('location') ?? '')
  const setCookie = cookiesNamed(res, 'c66p_login')[0] ?? ''
  return { res, authorizeUrl, setCookie, cookie: setCookie.split(';', 1)[0] ?? '', state: authorizeUrl.searchParams.get('state') ?? '' }
}

export interface ConsentAnswer {
  /** The 302 from the simulator. */
  readonly res: Response
  /** Its Location: the redirect URI with `code` (or `error`) and `state`. */
  readonly location: URL
  /** The consent page's forms, as a browser saw them. */
  readonly forms: HtmlForm[]
}

/**
 * Opens the consent page at `authorizeUrl` in a fresh simulator session (so Doorkeeper's "skip the
 * page when already authorized" never applies) and presses `button`.
 */
export async function answerConsent(
  sim: Simulator,
  authorizeUrl: URL | string,
  button: 'Authorize' | 'Deny',
  /** Extra form fields, e.g. `{ user_id: '2' }` to approve as the second user. */
  extra: Record<string, string> = {},
): Promise<ConsentAnswer> {
  const page = await fetch(authorizeUrl, { redirect: 'manual' })
  const html = await page.text()
  const forms = parseForms(html)
  const form = forms.find((f) => f.buttons.includes(button))
  const session = page.headers.get('set-cookie')?.split(';', 1)[0]
  if (page.status !== 200 || form === undefined || session === undefined) throw new Error(`no consent page (${page.status}): ${html.slice(0, 300)}`)
  const res = await submit(sim, form, session, extra)
  await res.arrayBuffer()
  const location = res.headers.get('location')
  if (res.status !== 302 || location === null) throw new Error(`${button} answered ${res.status}`)
  return { res, location: new URL(location), forms }
}

export interface CallbackAnswer {
  readonly res: Response
  readonly html: string
}

/** Follows the simulator's redirect to the proxy's /-/callback, with `cookie` if given. */
export async function followToCallback(url: URL | string, cookie?: string): Promise<CallbackAnswer> {
  const res = await fetch(url, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } })
  return { res, html: await res.text() }
}

export interface CompletedLogin {
  readonly started: StartedLogin
  readonly consent: ConsentAnswer
  readonly callback: CallbackAnswer
}

/** The whole login, Authorize pressed, as one browser. */
export async function loginThroughProxy(proxy: StartedProxy, sim: Simulator, query = ''): Promise<CompletedLogin> {
  const started = await startLogin(proxy, query)
  const consent = await answerConsent(sim, started.authorizeUrl, 'Authorize')
  const callback = await followToCallback(consent.location, started.cookie)
  if (callback.res.status !== 303) throw new Error(`/-/callback answered ${callback.res.status}: ${callback.html.slice(0, 300)}`)
  return { started, consent, callback }
}

/** The token the proxy stored for its local caller (undefined: none). */
export function storedToken(proxy: StartedProxy): Promise<StoredToken | undefined> {
  return proxy.app.store.getToken(LOCAL_CALLER)
}

/** The /-/ status page's HTML. */
export async function statusPage(proxy: StartedProxy): Promise<string> {
  const res = await fetch(`${proxy.url}/-/`)
  return res.text()
}

/** The simulator's records of POST /oauth/token, as form fields, in order. */
export function tokenRequests(sim: Simulator): Array<{ fields: URLSearchParams; authorization: string | undefined }> {
  return sim.requests
    .filter((r) => r.method === 'POST' && r.url.split('?')[0] === '/oauth/token')
    .map((r) => ({ fields: new URLSearchParams(r.body.toString('utf8')), authorization: r.headers.authorization }))
}
