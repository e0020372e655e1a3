// What the authorization endpoint refuses, and how (reference §9 items 4, 6, 7): errors are a 200
// HTML page, never a redirect; forged or mismatched consent forms get an empty 422.
import test from 'ava'
import type { Simulator } from '../../src/simulator/index.js'
import { authorizeUrl, CALLBACK, codeRequest, openConsent, startSim, submit, unescapeHtml } from '../helpers/oauth-sim.js'

async function errorPage(sim: Simulator, params: Record<string, string>): Promise<string> {
  const res = await fetch(authorizeUrl(sim, params), { redirect: 'manual' })
  const html = await res.text()
  if (res.status !== 200 || res.headers.get('location') !== null) throw new Error(`expected an error page, got ${res.status}`)
  if (!html.includes('<h1>An error has occurred</h1>')) throw new Error(`not the error page: ${html.slice(0, 200)}`)
  return unescapeHtml(/<pre>([^<]*)<\/pre>/.exec(html)?.[1] ?? '')
}

const UNKNOWN_CLIENT = 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.'
const BAD_REDIRECT = "The requested redirect uri is malformed or doesn't match client redirect URI."
const BAD_SCOPE = 'The requested scope is invalid, unknown, or malformed.'
const BAD_METHOD = 'The code challenge method must be plain or S256.'

test('a bad authorization request gets the error page with Doorkeeper’s text, never a redirect', async (t) => {
  const sim = await startSim(t)
  const { redirect_uri: callback, ...withoutRedirect } = codeRequest()
  const { client_id: _client, ...withoutClient } = codeRequest()
  const { response_type: _type, ...withoutType } = codeRequest()
  const cases: Array<[string, Record<string, string>, string]> = [
    ['an unknown client', codeRequest({ client_id: 'nobody' }), UNKNOWN_CLIENT],
    ['no client_id', withoutClient, 'Missing required parameter: client_id.'],
    ['the docs’ redirect_url instead of redirect_uri', { ...withoutRedirect, redirect_url: callback ?? CALLBACK }, BAD_REDIRECT],
    ['a non-loopback redirect URI for the default client', codeRequest({ redirect_uri: 'http://example.com/-/callback' }), BAD_REDIRECT],
    ['a redirect URI with a fragment', codeRequest({ redirect_uri: `${CALLBACK}#frag` }), BAD_REDIRECT],
    ['an unknown scope', codeRequest({ scope: 'public deploy' }), BAD_SCOPE],
    ['comma-separated scopes, as the docs’ table says', codeRequest({ scope: 'public,redeploy' }), BAD_SCOPE],
    ['response_type=token', codeRequest({ response_type: 'token' }), 'The authorization server does not support this response type.'],
    ['no response_type', withoutType, 'Missing required parameter: response_type.'],
    ['code_challenge_method=S512', codeRequest({ code_challenge: 'abc', code_challenge_method: 'S512' }), BAD_METHOD],
    ['a code_challenge without a method', codeRequest({ code_challenge: 'abc' }), BAD_METHOD],
  ]
  for (const [what, params, description] of cases) t.is(await errorPage(sim, params), description, what)
  // Nothing was issued along the way.
  t.is(sim.oauthCalls.authorize, cases.length)
})

test('a registered loopback redirect URI matches on any port, other URIs only exactly', async (t) => {
  const sim = await startSim(t, {
    oauthClients: [{ clientId: 'app', clientSecret: 's', redirectUris: ['http://127.0.0.1:8787/oauth/callback', 'https://proxy.example.com/-/callback'] }],
  })
  const request = (redirectUri: string) => codeRequest({ client_id: 'app', redirect_uri: redirectUri })
  t.is((await openConsent(sim, request('http://127.0.0.1:9999/oauth/callback'))).res.status, 200)
  t.is((await openConsent(sim, request('https://proxy.example.com/-/callback'))).res.status, 200)
  t.is(await errorPage(sim, request('http://127.0.0.1:9999/other')), BAD_REDIRECT)
  t.is(await errorPage(sim, request('https://proxy.example.com:8443/-/callback')), BAD_REDIRECT)
  t.is(await errorPage(sim, request('urn:ietf:wg:oauth:2.0:oob')), BAD_REDIRECT)
})

test('a consent form with another form’s token, no token or no session cookie gets an empty 422', async (t) => {
  const sim = await startSim(t)
  const page = await openConsent(sim, codeRequest())
  const other = await openConsent(sim, codeRequest())
  t.not(other.cookie, page.cookie)
  const attempts: Array<[string, Promise<Response>]> = [
    ['Deny with the Authorize form’s token', submit(sim, page.deny, page.cookie, { authenticity_token: page.authorize.hidden.authenticity_token ?? '' })],
    ['Authorize with the Deny form’s token', submit(sim, page.authorize, page.cookie, { authenticity_token: page.deny.hidden.authenticity_token ?? '' })],
    ['Authorize without a cookie', submit(sim, page.authorize, undefined)],
    ['Authorize without a token', submit(sim, { ...page.authorize, hidden: { ...page.authorize.hidden, authenticity_token: '' } }, page.cookie)],
    ['Authorize with another session’s cookie', submit(sim, page.authorize, other.cookie)],
    ['Authorize with a made-up cookie', submit(sim, page.authorize, '_session=0123456789abcdef0123456789abcdef')],
  ]
  for (const [what, pending] of attempts) {
    const res = await pending
    t.is(res.status, 422, what)
    t.is(res.headers.get('content-length'), '0', what)
    t.is(res.headers.get('location'), null, what)
    t.is(await res.text(), '', what)
  }
})

test('the page’s csrf-token meta works for either form, and a form may be used again', async (t) => {
  const sim = await startSim(t)
  const page = await openConsent(sim, codeRequest())
  const meta = unescapeHtml(/<meta name="csrf-token" content="([^"]+)">/.exec(page.html)?.[1] ?? '')
  const denied = await submit(sim, page.deny, page.cookie, { authenticity_token: meta })
  t.is(denied.status, 302)
  t.regex(denied.headers.get('location') ?? '', /[?&]error=access_denied&/)
  const approved = await submit(sim, page.authorize, page.cookie, { authenticity_token: meta })
  t.is(approved.status, 302)
  t.regex(approved.headers.get('location') ?? '', /[?&]code=[\w-]{43}&state=st-123$/)
})

test('a consent form tampered with after the page was shown is checked again', async (t) => {
  const sim = await startSim(t)
  const page = await openConsent(sim, codeRequest())

  // A redirect URI that passed may receive the error (ErrorResponse#redirectable?).
  const scoped = await submit(sim, page.authorize, page.cookie, { scope: 'public everything' })
  t.is(scoped.status, 302)
  const location = new URL(scoped.headers.get('location') ?? '')
  t.is(location.searchParams.get('error'), 'invalid_scope')
  t.is(location.searchParams.get('error_description'), BAD_SCOPE)
  t.is(location.searchParams.get('code'), null)

  // One that did not pass never does; neither does an unknown client's.
  const redirected = await submit(sim, page.authorize, page.cookie, { redirect_uri: 'https://evil.example/steal' })
  t.is(redirected.status, 400)
  t.is(redirected.headers.get('location'), null)
  t.deepEqual(await redirected.json(), { error: 'invalid_redirect_uri', error_description: BAD_REDIRECT, state: 'st-123' })
  const client = await submit(sim, page.deny, page.cookie, { client_id: 'nobody', redirect_uri: 'https://evil.example/steal' })
  t.is(client.status, 401)
  t.is(client.headers.get('location'), null)
  t.is(((await client.json()) as { error: string }).error, 'invalid_client')
})
