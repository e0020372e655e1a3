// POST /oauth/revoke (RFC 7009; reference §9 items 23-24) and Doorkeeper's GET /oauth/token/info.
import test from 'ava'
import type { Simulator } from '../../src/simulator/index.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { apiStatus, bearerChallenge, CALLBACK, CLIENT_ID, CLIENT_SECRET, codeRequest, obtainCode, postToken, redeem, startSim } from '../helpers/oauth-sim.js'

const REVOKED = bearerChallenge('invalid_token', 'The access token was revoked')
const REFUSED = { error: 'unauthorized_client', error_description: 'You are not authorized to revoke this token' }

async function revoke(sim: Simulator, fields: Record<string, string>, basic?: [string, string]): Promise<{ status: number; body: unknown }> {
  const res = await fetch(new URL('/oauth/revoke', sim.url), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(basic === undefined ? {} : { authorization: `Basic ${Buffer.from(basic.join(':')).toString('base64')}` }),
    },
    body: new URLSearchParams(fields).toString(),
  })
  return { status: res.status, body: await res.json() }
}

async function login(sim: Simulator): Promise<{ access: string; refresh: string }> {
  const { body } = await redeem(sim, await obtainCode(sim, codeRequest()))
  return { access: body.access_token as string, refresh: body.refresh_token as string }
}

const AUTH = { client_id: CLIENT_ID, client_secret: CLIENT_SECRET }

test('revocation needs client authentication; without it the answer is 403 and nothing is revoked', async (t) => {
  const sim = await startSim(t, { issueRefreshTokens: true })
  const a = await login(sim)
  t.deepEqual(await revoke(sim, { token: a.access }), { status: 403, body: REFUSED })
  t.deepEqual(await revoke(sim, { token: a.access, client_id: CLIENT_ID, client_secret: 'wrong' }), { status: 403, body: REFUSED })
  t.is((await apiStatus(sim, a.access)).status, 200)
  t.is(sim.oauthCalls.revoke, 2)
})

test('revoking the access token kills its refresh token', async (t) => {
  const sim = await startSim(t, { issueRefreshTokens: true })
  const a = await login(sim)
  t.deepEqual(await revoke(sim, { token: a.access, ...AUTH }), { status: 200, body: {} })
  t.deepEqual(await apiStatus(sim, a.access), { status: 401, wwwAuthenticate: REVOKED })
  const refresh = await postToken(sim, { grant_type: 'refresh_token', refresh_token: a.refresh, ...AUTH })
  t.is(refresh.res.status, 400)
  t.is(refresh.body.error, 'invalid_grant')
})

test('revoking by refresh token over HTTP Basic kills the access token, whatever the hint says', async (t) => {
  const sim = await startSim(t, { issueRefreshTokens: true })
  const a = await login(sim)
  t.deepEqual(await revoke(sim, { token: a.refresh, token_type_hint: 'access_token' }, [CLIENT_ID, CLIENT_SECRET]), { status: 200, body: {} })
  t.deepEqual(await apiStatus(sim, a.access), { status: 401, wwwAuthenticate: REVOKED })
})

test('an unknown or already revoked token is answered 200 {}', async (t) => {
  const sim = await startSim(t)
  t.deepEqual(await revoke(sim, { token: 'never-issued', ...AUTH }), { status: 200, body: {} })
  const a = await login(sim)
  t.deepEqual(await revoke(sim, { token: a.access, ...AUTH }), { status: 200, body: {} })
  t.deepEqual(await revoke(sim, { token: a.access, ...AUTH }), { status: 200, body: {} })
})

test('a confidential client cannot revoke another confidential client’s token', async (t) => {
  const sim = await startSim(t, {
    oauthClients: [
      { clientId: 'one', clientSecret: 'one-secret', redirectUris: [CALLBACK] },
      { clientId: 'two', clientSecret: 'two-secret', redirectUris: [CALLBACK] },
    ],
  })
  const code = await obtainCode(sim, codeRequest({ client_id: 'one' }))
  const { body } = await redeem(sim, code, { client_id: 'one', client_secret: 'one-secret' })
  const token = body.access_token as string
  t.deepEqual(await revoke(sim, { token, client_id: 'two', client_secret: 'two-secret' }), { status: 403, body: REFUSED })
  t.is((await apiStatus(sim, token)).status, 200)
  t.deepEqual(await revoke(sim, { token, client_id: 'one', client_secret: 'one-secret' }), { status: 200, body: {} })
  t.is((await apiStatus(sim, token)).status, 401)
})

test('as in Doorkeeper 5.5, revoking an expired access token leaves its refresh token working', async (t) => {
  const sim = await startSim(t, { issueRefreshTokens: true, accessTokenTtlSeconds: 3600 })
  const a = await login(sim)
  sim.expireToken(a.access)
  t.deepEqual(await revoke(sim, { token: a.refresh, ...AUTH }), { status: 200, body: {} })
  const refresh = await postToken(sim, { grant_type: 'refresh_token', refresh_token: a.refresh, ...AUTH })
  t.is(refresh.res.status, 200)
})

test('a personal token (no application) may be revoked by any authenticated client', async (t) => {
  const sim = await startSim(t)
  t.deepEqual(await revoke(sim, { token: 'sim-token', ...AUTH }), { status: 200, body: {} })
  t.deepEqual(await apiStatus(sim, 'sim-token'), { status: 401, wwwAuthenticate: REVOKED })
})

test('token info describes a valid token: owner, scopes, time left, application, creation', async (t) => {
  const clock = new FakeClock({ start: Date.UTC(2025, 0, 1) })
  const sim = await startSim(t, { accessTokenTtlSeconds: 7200, clock })
  const { body } = await redeem(sim, await obtainCode(sim, codeRequest({ scope: 'public jobs' })))
  clock.advance(200_400)
  const res = await fetch(new URL('/oauth/token/info', sim.url), { headers: { authorization: `Bearer ${body.access_token as string}` } })
  t.is(res.status, 200)
  t.is(res.headers.get('content-type'), 'application/json; charset=utf-8')
  t.deepEqual(await res.json(), {
    resource_owner_id: 1,
    scope: ['public', 'jobs'],
    expires_in: 7000,
    application: { uid: CLIENT_ID },
    created_at: Date.UTC(2025, 0, 1) / 1000,
  })
})

test('token info of a personal token names the first user and no application', async (t) => {
  const sim = await startSim(t, { tokens: { personal: ['public', 'admin'] } })
  const res = await fetch(new URL('/oauth/token/info?access_token=personal', sim.url))
  const body = (await res.json()) as Record<string, unknown>
  t.is(res.status, 200)
  t.is(body.resource_owner_id, 1)
  t.deepEqual(body.scope, ['public', 'admin'])
  t.is(body.expires_in, null)
  t.deepEqual(body.application, { uid: null })
})

test('token info refuses a missing, unknown, revoked or expired token with Doorkeeper’s JSON 401', async (t) => {
  const sim = await startSim(t, { tokens: { gone: ['public'], old: ['public'] } })
  sim.revokeToken('gone')
  sim.expireToken('old')
  for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Bearer gone' }, { authorization: 'Bearer old' }] as Array<
    Record<string, string>
  >) {
    const res = await fetch(new URL('/oauth/token/info', sim.url), { headers })
    const what = headers.authorization ?? 'no token'
    t.is(res.status, 401, what)
    // TokenInfoController answers InvalidTokenResponse.new: always "is invalid", with a JSON body.
    t.deepEqual(await res.json(), { error: 'invalid_token', error_description: 'The access token is invalid', state: 'unauthorized' }, what)
    t.is(res.headers.get('www-authenticate'), bearerChallenge('invalid_token', 'The access token is invalid'), what)
    t.is(res.headers.get('cache-control'), 'no-store', what)
  }
})
