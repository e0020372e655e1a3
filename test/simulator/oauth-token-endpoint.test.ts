// POST /oauth/token as Doorkeeper answers it (reference §9 items 10-15, 25-28): client
// authentication in the body or HTTP Basic, PKCE, single-use codes, and the exact error answers,
// each with WWW-Authenticate, no-store and no-cache.
import test from 'ava'
import type { ExecutionContext } from 'ava'
import { FakeClock } from '../helpers/fake-clock.js'
import type { TokenCall } from '../helpers/oauth-sim.js'
import {
  apiStatus,
  bearerChallenge,
  CALLBACK,
  CLIENT_ID,
  CLIENT_SECRET,
  codeRequest,
  INVALID_GRANT,
  obtainCode,
  pkcePair,
  postToken,
  redeem,
  startSim,
} from '../helpers/oauth-sim.js'

function assertError(t: ExecutionContext, call: TokenCall, status: number, error: string, description: string): void {
  t.is(call.res.status, status)
  t.deepEqual(call.body, { error, error_description: description })
  t.is(call.res.headers.get('content-type'), 'application/json; charset=utf-8')
  t.is(call.res.headers.get('www-authenticate'), bearerChallenge(error, description))
  t.is(call.res.headers.get('cache-control'), 'no-store')
  t.is(call.res.headers.get('pragma'), 'no-cache')
}

test('a code is single use: the second redemption gets invalid_grant', async (t) => {
  const sim = await startSim(t)
  const code = await obtainCode(sim, codeRequest())
  t.is((await redeem(sim, code)).res.status, 200)
  assertError(t, await redeem(sim, code), 400, 'invalid_grant', INVALID_GRANT)
  assertError(t, await redeem(sim, 'no-such-code'), 400, 'invalid_grant', INVALID_GRANT)
})

test('client credentials work in the body and as HTTP Basic; a wrong secret gets 401 invalid_client', async (t) => {
  const sim = await startSim(t)
  const basic = await postToken(
    sim,
    { grant_type: 'authorization_code', code: await obtainCode(sim, codeRequest()), redirect_uri: CALLBACK },
    { basic: [CLIENT_ID, CLIENT_SECRET] },
  )
  t.is(basic.res.status, 200)
  t.is((await apiStatus(sim, basic.body.access_token as string)).status, 200)

  const INVALID_CLIENT = 'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.'
  assertError(t, await redeem(sim, await obtainCode(sim, codeRequest()), { client_secret: 'wrong' }), 401, 'invalid_client', INVALID_CLIENT)
  const wrongBasic = await postToken(
    sim,
    { grant_type: 'authorization_code', code: await obtainCode(sim, codeRequest()), redirect_uri: CALLBACK },
    { basic: [CLIENT_ID, 'wrong'] },
  )
  assertError(t, wrongBasic, 401, 'invalid_client', INVALID_CLIENT)
  const anonymous = await postToken(sim, { grant_type: 'authorization_code', code: await obtainCode(sim, codeRequest()), redirect_uri: CALLBACK })
  assertError(t, anonymous, 401, 'invalid_client', INVALID_CLIENT)
})

test('the docs’ redirect_url is a missing redirect_uri, and the code survives for a corrected retry', async (t) => {
  const sim = await startSim(t)
  const code = await obtainCode(sim, codeRequest())
  const misspelt = await postToken(sim, { grant_type: 'authorization_code', code, redirect_url: CALLBACK, client_id: CLIENT_ID, client_secret: CLIENT_SECRET })
  assertError(t, misspelt, 400, 'invalid_request', 'Missing required parameter: redirect_uri.')
  // A different redirect URI than at authorize is invalid_grant, and does not burn the code either.
  assertError(t, await redeem(sim, code, { redirect_uri: 'http://127.0.0.1:8787/elsewhere' }), 400, 'invalid_grant', INVALID_GRANT)
  t.is((await redeem(sim, code)).res.status, 200)
})

test('S256 PKCE: no verifier is invalid_request, a wrong one invalid_grant, and the right one still works', async (t) => {
  const sim = await startSim(t)
  const { verifier, challenge } = pkcePair()
  const code = await obtainCode(sim, codeRequest({ code_challenge: challenge, code_challenge_method: 'S256' }))
  assertError(t, await redeem(sim, code), 400, 'invalid_request', 'Missing required parameter: code_verifier.')
  assertError(t, await redeem(sim, code, { code_verifier: pkcePair().verifier }), 400, 'invalid_grant', INVALID_GRANT)
  // The challenge itself is not the verifier.
  assertError(t, await redeem(sim, code, { code_verifier: challenge }), 400, 'invalid_grant', INVALID_GRANT)
  t.is((await redeem(sim, code, { code_verifier: verifier })).res.status, 200)
})

test('plain PKCE compares the verifier with the challenge as is', async (t) => {
  const sim = await startSim(t)
  const verifier = 'plain-verifier-plain-verifier-plain-verifier-1'
  const code = await obtainCode(sim, codeRequest({ code_challenge: verifier, code_challenge_method: 'plain' }))
  assertError(t, await redeem(sim, code, { code_verifier: `${verifier}x` }), 400, 'invalid_grant', INVALID_GRANT)
  t.is((await redeem(sim, code, { code_verifier: verifier })).res.status, 200)
})

test('a code_verifier for a code obtained without a challenge gets invalid_grant', async (t) => {
  const sim = await startSim(t)
  const code = await obtainCode(sim, codeRequest())
  assertError(t, await redeem(sim, code, { code_verifier: pkcePair().verifier }), 400, 'invalid_grant', INVALID_GRANT)
  t.is((await redeem(sim, code)).res.status, 200)
})

test('a public client redeems with its client_id only, with or without PKCE', async (t) => {
  const sim = await startSim(t, { oauthClients: [{ clientId: 'cli', redirectUris: [CALLBACK] }] })
  const { verifier, challenge } = pkcePair()
  const withPkce = await obtainCode(sim, codeRequest({ client_id: 'cli', code_challenge: challenge, code_challenge_method: 'S256' }))
  const plain = await postToken(sim, { grant_type: 'authorization_code', code: withPkce, redirect_uri: CALLBACK, client_id: 'cli', code_verifier: verifier })
  t.is(plain.res.status, 200)
  const withoutPkce = await obtainCode(sim, codeRequest({ client_id: 'cli' }))
  t.is((await postToken(sim, { grant_type: 'authorization_code', code: withoutPkce, redirect_uri: CALLBACK, client_id: 'cli' })).res.status, 200)
})

test('a code issued to one client cannot be redeemed by another', async (t) => {
  const sim = await startSim(t, {
    oauthClients: [
      { clientId: 'one', clientSecret: 'one-secret', redirectUris: [CALLBACK] },
      { clientId: 'two', clientSecret: 'two-secret', redirectUris: [CALLBACK] },
    ],
  })
  const code = await obtainCode(sim, codeRequest({ client_id: 'one' }))
  assertError(t, await redeem(sim, code, { client_id: 'two', client_secret: 'two-secret' }), 400, 'invalid_grant', INVALID_GRANT)
  t.is((await redeem(sim, code, { client_id: 'one', client_secret: 'one-secret' })).res.status, 200)
})

test('a code past its lifetime gets invalid_grant', async (t) => {
  const clock = new FakeClock({ start: Date.UTC(2025, 0, 1) })
  const sim = await startSim(t, { codeTtlSeconds: 30, clock })
  const fresh = await obtainCode(sim, codeRequest())
  const stale = await obtainCode(sim, codeRequest())
  clock.advance(30_000) // exactly at the end of its life: still good (Doorkeeper expires strictly after)
  t.is((await redeem(sim, fresh)).res.status, 200)
  clock.advance(1)
  assertError(t, await redeem(sim, stale), 400, 'invalid_grant', INVALID_GRANT)
})

test('a missing grant_type, a missing code and the password grant get Doorkeeper’s errors', async (t) => {
  const sim = await startSim(t)
  assertError(
    t,
    await postToken(sim, { code: 'x', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
    400,
    'invalid_request',
    'Missing required parameter: grant_type.',
  )
  assertError(
    t,
    await postToken(sim, { grant_type: 'authorization_code', redirect_uri: CALLBACK, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
    400,
    'invalid_request',
    'Missing required parameter: code.',
  )
  assertError(
    t,
    await postToken(sim, { grant_type: 'password', username: 'ada', password: 'x', client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
    400,
    'unsupported_grant_type',
    'The authorization grant type is not supported by the authorization server.',
  )
})

test('client_credentials gives a public token with no refresh token and no user', async (t) => {
  const sim = await startSim(t, { issueRefreshTokens: true })
  const { res, body } = await postToken(sim, { grant_type: 'client_credentials' }, { basic: [CLIENT_ID, CLIENT_SECRET] })
  t.is(res.status, 200)
  t.deepEqual(Object.keys(body), ['access_token', 'token_type', 'scope', 'created_at'])
  t.is(body.scope, 'public')
  const token = body.access_token as string
  t.is((await apiStatus(sim, token)).status, 200)
  t.is(sim.userOf(token), undefined)
  const info = (await (await fetch(new URL('/oauth/token/info', sim.url), { headers: { authorization: `Bearer ${token}` } })).json()) as Record<string, unknown>
  t.is(info.resource_owner_id, null)

  assertError(
    t,
    await postToken(sim, { grant_type: 'client_credentials' }),
    401,
    'invalid_client',
    'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.',
  )
  assertError(
    t,
    await postToken(sim, { grant_type: 'client_credentials', scope: 'public root' }, { basic: [CLIENT_ID, CLIENT_SECRET] }),
    400,
    'invalid_scope',
    'The requested scope is invalid, unknown, or malformed.',
  )
})

test('Accept is ignored: JSON comes back even when a form or HTML is asked for', async (t) => {
  const sim = await startSim(t)
  const ok = await redeem(sim, await obtainCode(sim, codeRequest()), {}, { accept: 'application/x-www-form-urlencoded' })
  t.is(ok.res.status, 200)
  t.is(ok.res.headers.get('content-type'), 'application/json; charset=utf-8')
  const failed = await postToken(
    sim,
    { grant_type: 'authorization_code', code: 'nope', redirect_uri: CALLBACK, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
    {
      headers: { accept: 'text/html' },
    },
  )
  t.is(failed.res.status, 400)
  t.is(failed.res.headers.get('content-type'), 'application/json; charset=utf-8')
})

test('a JSON request body is accepted like a form', async (t) => {
  const sim = await startSim(t)
  const code = await obtainCode(sim, codeRequest())
  const res = await fetch(new URL('/oauth/token', sim.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'authorization_code', code, redirect_uri: CALLBACK, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
  })
  t.is(res.status, 200)
  t.is(((await res.json()) as { token_type: string }).token_type, 'Bearer')
})

test('GET /oauth/token is a 404 with an empty body', async (t) => {
  const sim = await startSim(t)
  const res = await fetch(new URL('/oauth/token', sim.url))
  t.is(res.status, 404)
  t.is(await res.text(), '')
  t.is(sim.oauthCalls.token, 0)
})

test('with expiry and refresh tokens on, the answer carries expires_in and refresh_token in Doorkeeper’s order', async (t) => {
  const sim = await startSim(t, { accessTokenTtlSeconds: 7200, issueRefreshTokens: true })
  const { body } = await redeem(sim, await obtainCode(sim, codeRequest()))
  t.deepEqual(Object.keys(body), ['access_token', 'token_type', 'expires_in', 'refresh_token', 'scope', 'created_at'])
  t.is(body.expires_in, 7200)
  t.regex(body.refresh_token as string, /^[A-Za-z0-9_-]{43}$/)
  t.not(body.refresh_token, body.access_token)
})
