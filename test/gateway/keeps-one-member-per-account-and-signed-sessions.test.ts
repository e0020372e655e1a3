import { createHmac, randomBytes } from 'node:crypto'
import test from 'ava'
import { FakeClock } from '../helpers/fake-clock.js'
import { runCli } from '../helpers/cli.js'
import { createKey, errorCode, gwRequest, loginMember, memberToken, startGateway, startGatewaySim } from '../helpers/gateway.js'

// A member is created by logging in with Cloud 66; logging in again replaces their token and
// never makes a second member. The browser holds a signed, expiring, script-proof session cookie.

interface MemberRow {
  readonly id: string
  readonly kind: string
  readonly token: string
}

test('logging in twice as the same Cloud 66 user keeps one member and replaces their token', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const first = await loginMember(t, gw, sim, 1)
  const firstToken = await memberToken(gw, 'cloud66:1')
  const { key } = await createKey(gw, first.cookie)
  await loginMember(t, gw, sim, 1)
  const secondToken = await memberToken(gw, 'cloud66:1')
  t.truthy(firstToken)
  t.truthy(secondToken)
  t.not(secondToken, firstToken, 'the second login stored the new token')

  const listed = await runCli(['members', 'list', '--json', ...gw.cliArgs], gw.cliEnv())
  t.is(listed.code, 0, listed.stderr)
  const rows = JSON.parse(listed.stdout) as MemberRow[]
  t.deepEqual(
    rows.map((r) => [r.id, r.kind, r.token]),
    [['cloud66:1', 'person', 'linked']],
  )

  // The key made before the second login now acts with the replacement token.
  const before = sim.requests.length
  t.is((await gwRequest(gw, '/stacks.json', { bearer: key })).status, 200)
  t.is(sim.requests.slice(before).at(-1)?.token, secondToken)
})

test('a second Cloud 66 user becomes a second member', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  await loginMember(t, gw, sim, 1)
  await loginMember(t, gw, sim, 2)
  const listed = await runCli(['members', 'list', '--json', ...gw.cliArgs], gw.cliEnv())
  t.is(listed.code, 0, listed.stderr)
  t.deepEqual(
    (JSON.parse(listed.stdout) as MemberRow[]).map((r) => r.id),
    ['cloud66:1', 'cloud66:2'],
  )
})

test('the session cookie is HttpOnly, Secure, SameSite=Lax and expires', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { sessionTtl: '2h' } })
  const { setCookie, callback } = await loginMember(t, gw, sim, 1)
  const attributes = setCookie
    .split(';')
    .slice(1)
    .map((a) => a.trim())
  t.true(attributes.includes('HttpOnly'), setCookie)
  t.true(attributes.includes('Secure'), setCookie)
  t.true(attributes.includes('SameSite=Lax'), setCookie)
  t.true(attributes.includes('Max-Age=7200'), setCookie)
  t.true(attributes.includes('Path=/'), setCookie)
  t.is(callback.headers.location, '/-/')
})

test('the session cookie signs the member in to the JSON API and the page', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const me = await gwRequest(gw, '/-/api/me', { cookie })
  t.is(me.status, 200, me.body)
  t.like(me.json(), { member: { id: 'cloud66:1', kind: 'person' }, admin: false, token: { present: true } })
  const page = await gwRequest(gw, '/-/', { cookie })
  t.regex(page.body, /id="member-id">cloud66:1</)
})

test('a forged or altered session cookie is refused', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const value = cookie.slice('c66p_session='.length)
  const [id = '', mac = ''] = value.split('.')
  const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1)
  const forgeries = {
    'the MAC altered': `${id}.${flip(mac)}`,
    'the id altered': `${flip(id)}.${mac}`,
    'the id alone': id,
    // The real session id, signed with a key that is not the gateway's.
    'signed with another key': `${id}.${createHmac('sha256', randomBytes(32)).update(`session:${id}`).digest('base64url')}`,
    'a random value': randomBytes(24).toString('base64url'),
  }
  for (const [what, forged] of Object.entries(forgeries)) {
    const res = await gwRequest(gw, '/-/api/me', { cookie: `c66p_session=${forged}` })
    t.is(res.status, 401, what)
    t.is(errorCode(res), 'unidentified', what)
    const created = await gwRequest(gw, '/-/api/keys', { cookie: `c66p_session=${forged}`, json: { label: 'forged' } })
    t.is(created.status, 401, what)
  }
  t.is((await gwRequest(gw, '/-/api/me', { cookie })).status, 200, 'the genuine cookie still works')
})

test('a session stops working once its lifetime has passed', async (t) => {
  const clock = new FakeClock({ start: Date.now() })
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, io: { clock }, flags: { sessionTtl: '1h' } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  clock.advance(59 * 60_000)
  t.is((await gwRequest(gw, '/-/api/me', { cookie })).status, 200)
  clock.advance(2 * 60_000)
  t.is((await gwRequest(gw, '/-/api/me', { cookie })).status, 401)
})
