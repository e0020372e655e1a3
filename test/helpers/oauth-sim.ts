// Driving the simulator's OAuth server as a browser and a client would: fetch the consent page,
// read its forms, press a button, redeem the code. `redirect: 'manual'` everywhere, so each 302
// is seen as sent.
import { createHash, randomBytes } from 'node:crypto'
import type { ExecutionContext } from 'ava'
import { startSimulator } from '../../src/simulator/index.js'
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.js'

export const CLIENT_ID = 'sim-client'
export const CLIENT_SECRET = 'sim-secret'
export const CALLBACK = 'http://127.0.0.1:8787/-/callback'
export const OOB = 'urn:ietf:wg:oauth:2.0:oob'

export async function startSim(t: ExecutionContext, options?: SimulatorOptions): Promise<Simulator> {
  const sim = await startSimulator(options)
  t.teardown(() => sim.close())
  return sim
}

/** An RFC 7636 verifier and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

export function unescapeHtml(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
}

export interface HtmlForm {
  readonly method: string
  readonly action: string
  /** The hidden inputs, in page order. */
  readonly hidden: Record<string, string>
  readonly buttons: string[]
  /** Options of a <select name="user_id">, if the form has one. */
  readonly userOptions: Array<{ value: string; label: string; selected: boolean }>
}

/** A tiny parser for the simulator's own pages: forms, their hidden inputs and submit buttons. */
export function parseForms(html: string): HtmlForm[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map(([, attributes = '', inner = '']) => {
    const attr = (name: string): string => unescapeHtml(new RegExp(`${name}="([^"]*)"`).exec(attributes)?.[1] ?? '')
    const hidden: Record<string, string> = {}
    for (const [, name = '', value = ''] of inner.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      hidden[name] = unescapeHtml(value)
    }
    const buttons = [...inner.matchAll(/<button type="submit">([^<]*)<\/button>/g)].map(([, text = '']) => text)
    const userOptions = [...inner.matchAll(/<option value="([^"]*)"( selected)?>([^<]*)<\/option>/g)].map(([, value = '', selected, label = '']) => ({
      value,
      label: unescapeHtml(label),
      selected: selected !== undefined,
    }))
    return { method: attr('method'), action: attr('action'), hidden, buttons, userOptions }
  })
}

export interface ConsentPage {
  readonly res: Response
  readonly html: string
  /** `_session=…`, ready for a Cookie header. */
  readonly cookie: string
  readonly authorize: HtmlForm
  readonly deny: HtmlForm
}

export function authorizeUrl(sim: Simulator, params: Record<string, string>): URL {
  const url = new URL('/oauth/authorize', sim.url)
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
  return url
}

/** The usual authorization request of the default client, with `extra` on top. */
export function codeRequest(extra: Record<string, string> = {}): Record<string, string> {
  return { client_id: CLIENT_ID, redirect_uri: CALLBACK, response_type: 'code', scope: 'public redeploy', state: 'st-123', ...extra }
}

/** GETs the consent page and finds its two forms; fails the test if it is not one. */
export async function openConsent(sim: Simulator, params: Record<string, string>, cookie?: string): Promise<ConsentPage> {
  const res = await fetch(authorizeUrl(sim, params), { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } })
  const html = await res.text()
  const forms = parseForms(html)
  const authorize = forms.find((f) => f.buttons.includes('Authorize'))
  const deny = forms.find((f) => f.buttons.includes('Deny'))
  if (res.status !== 200 || authorize === undefined || deny === undefined) throw new Error(`no consent page (${res.status}): ${html.slice(0, 300)}`)
  const setCookie = res.headers.get('set-cookie')
  const sent = setCookie === null ? cookie : setCookie.split(';', 1)[0]
  if (sent === undefined) throw new Error('the consent page set no session cookie')
  return { res, html, cookie: sent, authorize, deny }
}

/** Submits a form as a browser would (form-encoded POST with the cookie), plus `extra` fields. */
export async function submit(sim: Simulator, form: HtmlForm, cookie: string | undefined, extra: Record<string, string> = {}): Promise<Response> {
  const fields = { ...form.hidden, ...extra }
  return fetch(new URL(form.action, sim.url), {
    method: form.method.toUpperCase(),
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie === undefined ? {} : { cookie }) },
    body: new URLSearchParams(fields).toString(),
  })
}

/** Consent page → Authorize → the code from the 302's Location. */
export async function obtainCode(sim: Simulator, params: Record<string, string>, extra: Record<string, string> = {}): Promise<string> {
  const page = await openConsent(sim, params)
  const res = await submit(sim, page.authorize, page.cookie, extra)
  const code = new URL(res.headers.get('location') ?? 'x:').searchParams.get('code')
  if (res.status !== 302 || code === null) throw new Error(`Authorize gave ${res.status} ${res.headers.get('location')}`)
  return code
}

export interface TokenCall {
  readonly res: Response
  readonly body: Record<string, unknown>
}

/** POST /oauth/token, form-encoded; `basic` sends client credentials as HTTP Basic instead of in the body. */
export async function postToken(
  sim: Simulator,
  fields: Record<string, string>,
  options: { basic?: [string, string]; headers?: Record<string, string> } = {},
): Promise<TokenCall> {
  const auth = options.basic === undefined ? {} : { authorization: `Basic ${Buffer.from(options.basic.join(':')).toString('base64')}` }
  const res = await fetch(new URL('/oauth/token', sim.url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth, ...options.headers },
    body: new URLSearchParams(fields).toString(),
  })
  const text = await res.text()
  const type = res.headers.get('content-type') ?? ''
  const body = type.startsWith('application/json') ? (JSON.parse(text) as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(text))
  return { res, body }
}

/** The body-authenticated code redemption of the default client. */
export function redeem(sim: Simulator, code: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<TokenCall> {
  return postToken(
    sim,
    { grant_type: 'authorization_code', code, redirect_uri: CALLBACK, client_id: CLIENT_ID, client_secret: CLIENT_SECRET, ...extra },
    { headers },
  )
}

/** Status of GET /api/3/stacks with `token`, and the WWW-Authenticate it got. */
export async function apiStatus(sim: Simulator, token: string, path = '/api/3/stacks'): Promise<{ status: number; wwwAuthenticate: string | null }> {
  const res = await fetch(new URL(path, sim.url), { headers: { authorization: `Bearer ${token}` } })
  await res.arrayBuffer()
  return { status: res.status, wwwAuthenticate: res.headers.get('www-authenticate') }
}

export const INVALID_GRANT =
  'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.'

/** The WWW-Authenticate Doorkeeper puts on every token-endpoint error. */
export function bearerChallenge(error: string, description: string): string {
  return `Bearer realm="Doorkeeper", error="${error}", error_description="${description}"`
}
