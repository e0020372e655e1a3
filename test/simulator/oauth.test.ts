// The authorization-code flow end to end against the simulator (reference §9 items 1-3, 8, 10):
// consent page, Authorize, code, token, API call, token info; Deny; out-of-band; counters.
import test from 'ava'
import {
  apiStatus,
  CALLBACK,
  CLIENT_ID,
  CLIENT_SECRET,
  codeRequest,
  OOB,
  obtainCode,
  openConsent,
  pkcePair,
  redeem,
  startSim,
  submit,
  unescapeHtml,
} from '../helpers/oauth-sim.js'

test('the full code flow with PKCE gives a token the API accepts and token info names the user', async (t) => {
  const sim = await startSim(t)
  const { verifier, challenge } = pkcePair()
  const page = await openConsent(sim, codeRequest({ code_challenge: challenge, code_challenge_method: 'S256' }))
  t.is(page.res.headers.get('content-type'), 'text/html; charset=utf-8')
  t.regex(page.html, /<h1>Authorization required<\/h1>/)

  // Pick the second user, as a person would in the picker.
  const authorized = await submit(sim, page.authorize, page.cookie, { user_id: '2' })
  t.is(authorized.status, 302)
  t.is(authorized.headers.get('cache-control'), 'no-cache')
  const location = new URL(authorized.headers.get('location') ?? '')
  t.is(`${location.origin}${location.pathname}`, CALLBACK)
  const code = location.searchParams.get('code') ?? ''
  t.regex(code, /^[A-Za-z0-9_-]{43}$/)
  t.is(location.searchParams.get('state'), 'st-123')

  const { res, body } = await redeem(sim, code, { code_verifier: verifier })
  t.is(res.status, 200)
  t.is(res.headers.get('content-type'), 'application/json; charset=utf-8')
  t.is(res.headers.get('cache-control'), 'no-store')
  t.is(res.headers.get('pragma'), 'no-cache')
  t.is(res.headers.get('set-cookie'), null)
  // Cloud 66's usual case: no expires_in and no refresh_token; fields in Doorkeeper's order.
  t.deepEqual(Object.keys(body), ['access_token', 'token_type', 'scope', 'created_at'])
  t.is(body.token_type, 'Bearer')
  t.is(body.scope, 'public redeploy')
  t.is(typeof body.created_at, 'number')
  const accessToken = body.access_token as string
  t.regex(accessToken, /^[A-Za-z0-9_-]{43}$/)

  t.is((await apiStatus(sim, accessToken)).status, 200)
  t.is(sim.requests.at(-1)?.token, accessToken)
  t.is(sim.userOf(accessToken), 2)

  const info = await fetch(new URL('/oauth/token/info', sim.url), { headers: { authorization: `Bearer ${accessToken}` } })
  t.is(info.status, 200)
  t.deepEqual(await info.json(), {
    resource_owner_id: 2,
    scope: ['public', 'redeploy'],
    expires_in: null,
    application: { uid: CLIENT_ID },
    created_at: body.created_at,
  })
})

test('an issued token holds exactly the granted scopes: other endpoints answer 403', async (t) => {
  const sim = await startSim(t)
  const code = await obtainCode(sim, codeRequest({ scope: 'public' }))
  const { body } = await redeem(sim, code)
  const token = body.access_token as string
  t.is((await apiStatus(sim, token)).status, 200)
  // Environment variables need `admin`.
  const stacks = (await (await fetch(new URL('/api/3/stacks', sim.url), { headers: { authorization: `Bearer ${token}` } })).json()) as {
    response: Array<{ uid: string }>
  }
  const forbidden = await apiStatus(sim, token, `/api/3/stacks/${stacks.response[0]!.uid}/environments`)
  t.is(forbidden.status, 403)
  t.is(forbidden.wwwAuthenticate, null)
})

test('the consent page lists the scopes, offers the users and carries every hidden field in both forms', async (t) => {
  const sim = await startSim(t)
  const { challenge } = pkcePair()
  const page = await openConsent(sim, codeRequest({ scope: 'public jobs', state: 'a"b<c&d', code_challenge: challenge, code_challenge_method: 'S256' }))
  t.regex(page.res.headers.get('set-cookie') ?? '', /^_session=[0-9a-f]+; path=\/; HttpOnly; SameSite=Lax$/)
  t.regex(page.res.headers.get('content-security-policy') ?? '', /default-src 'none'/)
  t.regex(page.html, /Authorize <strong>sim-client<\/strong> to use your account\?/)
  t.deepEqual(
    [...page.html.matchAll(/<li data-scope="([^"]+)">/g)].map((m) => m[1]),
    ['public', 'jobs'],
  )
  // No script and nothing loaded from anywhere: no src, no stylesheet link, no url() in the style.
  t.notRegex(page.html, /<script|<link|<img|src=|url\(/)

  const expected = {
    client_id: CLIENT_ID,
    redirect_uri: CALLBACK,
    state: 'a"b<c&d',
    response_type: 'code',
    scope: 'public jobs',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }
  for (const [form, extra] of [
    [page.authorize, {}],
    [page.deny, { _method: 'delete' }],
  ] as const) {
    t.is(form.method, 'post')
    t.is(form.action, '/oauth/authorize')
    const { authenticity_token: token, ...rest } = form.hidden
    t.deepEqual(rest, { ...extra, ...expected })
    t.truthy(token)
  }
  t.not(page.authorize.hidden.authenticity_token, page.deny.hidden.authenticity_token)
  t.deepEqual(page.authorize.userOptions, [
    { value: '1', label: 'ada@example.com', selected: true },
    { value: '2', label: 'grace@example.com', selected: false },
  ])
  t.deepEqual(page.deny.userOptions, [])
  t.regex(page.html, /<meta name="csrf-token" content="[^"]+">/)
})

test('Deny sends the browser back with access_denied and the state', async (t) => {
  const sim = await startSim(t)
  const page = await openConsent(sim, codeRequest({ state: 'keep me/+?' }))
  const res = await submit(sim, page.deny, page.cookie)
  t.is(res.status, 302)
  t.is(
    res.headers.get('location'),
    `${CALLBACK}?error=access_denied&error_description=The+resource+owner+or+authorization+server+denied+the+request.&state=keep+me%2F%2B%3F`,
  )
  t.is(new URL(res.headers.get('location') ?? '').searchParams.get('state'), 'keep me/+?')
})

test('a code goes to a loopback redirect URI on any port, keeping its own query', async (t) => {
  const sim = await startSim(t)
  const redirectUri = 'http://127.0.0.1:49152/cb?from=cli'
  const page = await openConsent(sim, codeRequest({ redirect_uri: redirectUri }))
  const res = await submit(sim, page.authorize, page.cookie)
  const location = new URL(res.headers.get('location') ?? '')
  t.is(location.origin, 'http://127.0.0.1:49152')
  t.is(location.pathname, '/cb')
  t.is(location.searchParams.get('from'), 'cli')
  t.is((await redeem(sim, location.searchParams.get('code') ?? '', { redirect_uri: redirectUri })).res.status, 200)
})

test('the out-of-band URI leads to a page that shows the code, which redeems with the same URI', async (t) => {
  const sim = await startSim(t)
  const page = await openConsent(sim, codeRequest({ redirect_uri: OOB }))
  const res = await submit(sim, page.authorize, page.cookie)
  t.is(res.status, 302)
  const location = new URL(res.headers.get('location') ?? '')
  t.is(`${location.origin}${location.pathname}`, `${sim.url.origin}/oauth/authorize/native`)
  t.is(location.searchParams.get('state'), null)

  const shown = await fetch(location)
  t.is(shown.status, 200)
  const code = unescapeHtml(/<code id="authorization_code">([^<]*)<\/code>/.exec(await shown.text())?.[1] ?? '')
  t.is(location.searchParams.get('code'), code)

  const { res: token, body } = await redeem(sim, code, { redirect_uri: OOB })
  t.is(token.status, 200)
  t.is(typeof body.access_token, 'string')
})

test('Deny with the out-of-band URI is not redirected but answered as JSON', async (t) => {
  const sim = await startSim(t)
  const page = await openConsent(sim, codeRequest({ redirect_uri: OOB }))
  const res = await submit(sim, page.deny, page.cookie)
  t.is(res.status, 400)
  t.is(res.headers.get('location'), null)
  t.deepEqual(await res.json(), {
    error: 'access_denied',
    error_description: 'The resource owner or authorization server denied the request.',
    state: 'st-123',
  })
})

test('without a scope parameter the default scope public is asked for and granted', async (t) => {
  const sim = await startSim(t)
  const { scope: _omitted, ...request } = codeRequest()
  const page = await openConsent(sim, request)
  t.is(page.authorize.hidden.scope, 'public')
  const res = await submit(sim, page.authorize, page.cookie)
  const code = new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? ''
  t.is((await redeem(sim, code)).body.scope, 'public')
})

test('a second login by the same user and confidential client with the same scopes skips the page', async (t) => {
  const sim = await startSim(t)
  const first = await openConsent(sim, codeRequest())
  const approved = await submit(sim, first.authorize, first.cookie)
  await redeem(sim, new URL(approved.headers.get('location') ?? '').searchParams.get('code') ?? '')

  const again = await fetch(new URL(`/oauth/authorize?${new URLSearchParams(codeRequest({ state: 'second' }))}`, sim.url), {
    redirect: 'manual',
    headers: { cookie: first.cookie },
  })
  t.is(again.status, 302)
  const location = new URL(again.headers.get('location') ?? '')
  t.is(location.searchParams.get('state'), 'second')
  t.is((await redeem(sim, location.searchParams.get('code') ?? '')).res.status, 200)

  // Any other scope set, even a subset, shows the page again (§9 item 5).
  const subset = await openConsent(sim, codeRequest({ scope: 'public' }), first.cookie)
  t.is(subset.res.status, 200)
})

test('a public client always sees the consent page', async (t) => {
  const sim = await startSim(t, { oauthClients: [{ clientId: 'cli', redirectUris: [CALLBACK] }] })
  const request = codeRequest({ client_id: 'cli' })
  const first = await openConsent(sim, request)
  const approved = await submit(sim, first.authorize, first.cookie)
  const code = new URL(approved.headers.get('location') ?? '').searchParams.get('code') ?? ''
  const token = await redeem(sim, code, { client_id: 'cli', client_secret: '' })
  t.is(token.res.status, 200)
  const again = await openConsent(sim, request, first.cookie)
  t.is(again.res.status, 200)
})

test('the counters say how often each endpoint was called, token calls by grant type', async (t) => {
  const sim = await startSim(t, { issueRefreshTokens: true })
  t.deepEqual(sim.oauthCalls, { token: 0, tokenByGrant: {}, revoke: 0, authorize: 0 })
  const code = await obtainCode(sim, codeRequest())
  const { body } = await redeem(sim, code)
  await redeem(sim, code) // reused: counted although refused
  const refreshed = await fetch(new URL('/oauth/token', sim.url), {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: body.refresh_token as string, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
  })
  t.is(refreshed.status, 200)
  await fetch(new URL('/oauth/token', sim.url), { method: 'POST', body: new URLSearchParams({}) })
  await fetch(new URL('/oauth/revoke', sim.url), {
    method: 'POST',
    body: new URLSearchParams({ token: 'x', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
  })
  t.deepEqual(sim.oauthCalls, { token: 4, tokenByGrant: { authorization_code: 2, refresh_token: 1 }, revoke: 1, authorize: 1 })
})

test('issueToken makes API tokens for a user without calling the token endpoint', async (t) => {
  const sim = await startSim(t, { issueRefreshTokens: true })
  const issued = sim.issueToken(1, ['public'])
  t.regex(issued.accessToken, /^[A-Za-z0-9_-]{43}$/)
  t.regex(issued.refreshToken ?? '', /^[A-Za-z0-9_-]{43}$/)
  t.is(sim.userOf(issued.accessToken), 1)
  t.is(sim.userOf(issued.refreshToken ?? ''), 1)
  t.is((await apiStatus(sim, issued.accessToken)).status, 200)
  t.is(sim.oauthCalls.token, 0)
  t.deepEqual(Object.keys(sim.issueToken(2, ['public'], { refreshToken: false })), ['accessToken'])
  t.throws(() => sim.issueToken(99, ['public']), { message: /no user 99/ })
  t.is(sim.userOf('sim-token'), 1)
  t.is(sim.userOf('never-issued'), undefined)
})

test('custom users appear in the picker and own the tokens they authorize', async (t) => {
  const sim = await startSim(t, { users: [{ id: 7, email: 'linus@example.com' }] })
  const page = await openConsent(sim, codeRequest())
  t.deepEqual(page.authorize.userOptions, [{ value: '7', label: 'linus@example.com', selected: true }])
  const res = await submit(sim, page.authorize, page.cookie)
  const { body } = await redeem(sim, new URL(res.headers.get('location') ?? '').searchParams.get('code') ?? '')
  t.is(sim.userOf(body.access_token as string), 7)
})
