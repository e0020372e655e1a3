import test, { type ExecutionContext } from 'ava'
import type { Simulator } from '../../src/simulator/index.js'
import { createKey, errorCode, gwRequest, loginMember, memberToken, startGateway, startGatewaySim, type StartedGateway } from '../helpers/gateway.js'

// Behind oauth2-proxy, Pomerium or similar, --trusted-identity-header names the member, but only
// on requests from --trusted-proxies. Every spelling of that header (any case, `_` for `-`, the
// lesson of oauth2-proxy CVE-2025-64484) is stripped from every request, trusted or not, and
// X-Forwarded-Host is believed only from a trusted proxy too.

const HEADER = 'X-Forwarded-Email'
const GRACE = 'grace@example.com'
// Members named by the header are `sso:<e-mail>` (issue 9, finding 5).

/** Names of every header the simulator received since `from`, lower-cased with `_` folded to `-`. */
function upstreamHeaderNames(sim: Simulator, from: number): string[] {
  return sim.requests.slice(from).flatMap((r) => r.rawHeaders.filter((_v, i) => i % 2 === 0).map((n) => n.toLowerCase().replace(/_/g, '-')))
}

async function ssoGateway(t: ExecutionContext, trustedProxies: string): Promise<{ sim: Simulator; gw: StartedGateway }> {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { trustedIdentityHeader: HEADER, trustedProxies: [trustedProxies] } })
  return { sim, gw }
}

test('from a trusted proxy, a member named by the header who has not logged in gets 401 login_required with the login URL', async (t) => {
  const { sim, gw } = await ssoGateway(t, '127.0.0.1/32')
  const res = await gwRequest(gw, '/stacks.json', { headers: { [HEADER]: GRACE } })
  t.is(res.status, 401, res.body)
  t.is(errorCode(res), 'login_required')
  t.true(res.json<{ message: string }>().message.includes(`${gw.url}/-/login`), res.body)
  t.is(sim.requests.length, 0)
})

test('from a trusted proxy, after logging in with the header set, the member works without a key and as themselves', async (t) => {
  const { sim, gw } = await ssoGateway(t, '127.0.0.1/32')
  const login = await loginMember(t, gw, sim, 2, { [HEADER]: GRACE })
  const token = await memberToken(gw, `sso:${GRACE}`)
  t.truthy(token)
  t.is(sim.userOf(token ?? ''), 2)
  t.is(await gw.store.getToken('cloud66:2'), undefined, 'the member is the SSO identity, not the Cloud 66 user id')
  const me = await gwRequest(gw, '/-/api/me', { cookie: login.cookie })
  t.like(me.json(), { member: { id: `sso:${GRACE}` } })

  const before = sim.requests.length
  const res = await gwRequest(gw, '/stacks.json', { headers: { [HEADER]: GRACE } })
  t.is(res.status, 200, res.body)
  t.deepEqual(
    sim.requests.slice(before).map((r) => r.token),
    [token],
  )
  t.false(upstreamHeaderNames(sim, before).includes('x-forwarded-email'), 'the identity header never reaches Cloud 66')
})

test('from a trusted proxy, only the exact header name is believed: underscore and odd-case spellings are not', async (t) => {
  const { sim, gw } = await ssoGateway(t, '127.0.0.1/32')
  await loginMember(t, gw, sim, 2, { [HEADER]: GRACE })
  const before = sim.requests.length
  for (const name of ['X_Forwarded_Email', 'x_forwarded_email', 'X-Forwarded_Email']) {
    const res = await gwRequest(gw, '/stacks.json', { headers: { [name]: GRACE } })
    t.is(res.status, 401, name)
    t.is(errorCode(res), 'unidentified', name)
  }
  // Header names are case-insensitive in HTTP: any case of the hyphenated name is the header itself.
  t.is((await gwRequest(gw, '/stacks.json', { headers: { 'x-FORWARDED-email': GRACE } })).status, 200)
  t.is(sim.requests.length, before + 1)
})

test('from a trusted proxy, a gateway key wins over the identity header', async (t) => {
  const { sim, gw } = await ssoGateway(t, '127.0.0.1/32')
  const ada = await loginMember(t, gw, sim, 1, { [HEADER]: 'ada@example.com' })
  await loginMember(t, gw, sim, 2, { [HEADER]: GRACE })
  const { key } = await createKey(gw, ada.cookie)
  const before = sim.requests.length
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key, headers: { [HEADER]: GRACE } })).status, 200)
  t.deepEqual(
    sim.requests.slice(before).map((r) => r.token),
    [await memberToken(gw, 'sso:ada@example.com')],
  )
})

test('gateway-wide deny rules bind members identified by the header too', async (t) => {
  const { sim, gw } = await ssoGateway(t, '127.0.0.1/32')
  await loginMember(t, gw, sim, 2, { [HEADER]: GRACE })
  const before = sim.requests.length
  const res = await gwRequest(gw, '/accounts/otp', { headers: { [HEADER]: GRACE } })
  t.is(res.status, 403)
  t.is(errorCode(res), 'denied_by_policy')
  t.is(sim.requests.length, before)
})

test('from an untrusted address the identity header is ignored: 401 unidentified, and nothing reaches Cloud 66', async (t) => {
  const { sim, gw } = await ssoGateway(t, '10.0.0.0/8')
  const res = await gwRequest(gw, '/stacks.json', { headers: { [HEADER]: GRACE } })
  t.is(res.status, 401)
  t.is(errorCode(res), 'unidentified')
  t.is(sim.requests.length, 0)
})

test('every spelling of the identity header is stripped before Cloud 66, from trusted and untrusted addresses alike', async (t) => {
  for (const trusted of ['10.0.0.0/8', '127.0.0.1/32']) {
    const { sim, gw } = await ssoGateway(t, trusted)
    const { cookie } = await loginMember(t, gw, sim, 1, trusted === '127.0.0.1/32' ? { [HEADER]: 'ada@example.com' } : {})
    const { key } = await createKey(gw, cookie)
    const before = sim.requests.length
    const spellings = ['X-Forwarded-Email', 'x-forwarded-email', 'X_Forwarded_Email', 'x_FORWARDED_email', 'X-FORWARDED_EMAIL']
    for (const name of spellings) {
      const res = await gwRequest(gw, '/api/3/echo', { bearer: key, headers: { [name]: 'mallory@example.com' } })
      t.is(res.status, 200, `${trusted} ${name}: ${res.body}`)
    }
    // Two spellings in one request (they are different header names on the wire).
    t.is(
      (await gwRequest(gw, '/api/3/echo', { bearer: key, headers: { X_Forwarded_Email: 'm1@example.com', 'X-Forwarded-Email': 'm2@example.com' } })).status,
      200,
    )
    t.is(sim.requests.length, before + spellings.length + 1)
    t.false(upstreamHeaderNames(sim, before).includes('x-forwarded-email'), `${trusted}: ${upstreamHeaderNames(sim, before).join(', ')}`)
    t.false(sim.requests.slice(before).some((r) => r.rawHeaders.some((v) => v.includes('example.com'))))
  }
})

test('X-Forwarded-Host is believed from a trusted proxy only', async (t) => {
  const trusted = await ssoGateway(t, '127.0.0.1/32')
  const untrusted = await ssoGateway(t, '10.0.0.0/8')
  for (const { sim, gw } of [trusted, untrusted]) {
    const { cookie } = await loginMember(t, gw, sim, 1, gw === trusted.gw ? { [HEADER]: 'ada@example.com' } : {})
    const { key } = await createKey(gw, cookie)
    const publicHost = `127.0.0.1:${gw.port}`
    // A front that was addressed by the public name and forwards to the replica's internal name.
    const viaFront = await gwRequest(gw, '/stacks.json', {
      bearer: key,
      headers: { host: 'replica-1.internal:8443', 'x-forwarded-host': publicHost, 'x-forwarded-proto': 'https' },
    })
    // A front that says the caller addressed some other site.
    const otherSite = await gwRequest(gw, '/stacks.json', { bearer: key, headers: { host: publicHost, 'x-forwarded-host': 'evil.example' } })
    if (gw === trusted.gw) {
      t.is(viaFront.status, 200, viaFront.body)
      t.is(otherSite.status, 403, otherSite.body)
      t.is(errorCode(otherSite), 'forbidden_host')
    } else {
      t.is(viaFront.status, 403, viaFront.body)
      t.is(errorCode(viaFront), 'forbidden_host')
      t.is(otherSite.status, 200, 'an untrusted X-Forwarded-Host is ignored, the real Host decides')
    }
  }
})

test('X-Forwarded-* headers never reach Cloud 66, even from a trusted proxy', async (t) => {
  const { sim, gw } = await ssoGateway(t, '127.0.0.1/32')
  await loginMember(t, gw, sim, 2, { [HEADER]: GRACE })
  const before = sim.requests.length
  const res = await gwRequest(gw, '/api/3/echo', {
    headers: {
      [HEADER]: GRACE,
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': `127.0.0.1:${gw.port}`,
      X_Forwarded_For: '203.0.113.10',
    },
  })
  t.is(res.status, 200, res.body)
  t.deepEqual(
    upstreamHeaderNames(sim, before).filter((n) => n.startsWith('x-forwarded-')),
    [],
  )
})

test('an identity header outside X-Forwarded-* (oauth2-proxy X-Auth-Request-Email) is stripped in every spelling too', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { trustedIdentityHeader: 'X-Auth-Request-Email', trustedProxies: ['10.0.0.0/8'] } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie)
  const before = sim.requests.length
  for (const name of ['X-Auth-Request-Email', 'X_Auth_Request_Email', 'x-AUTH_request-EMAIL']) {
    t.is((await gwRequest(gw, '/api/3/echo', { bearer: key, headers: { [name]: 'mallory@example.com' } })).status, 200, name)
  }
  t.is(sim.requests.length, before + 3)
  t.false(upstreamHeaderNames(sim, before).includes('x-auth-request-email'), upstreamHeaderNames(sim, before).join(', '))
})
