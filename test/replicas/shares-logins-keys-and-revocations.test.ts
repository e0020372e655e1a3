// Three gateway processes behind one real redis-server, as a load balancer would spread one member
// over them: a login started on A and finished on B, the session used on C, a key made on A used on
// C, a revocation on A and a member removal on B seen by the others within one second (issue 4:
// "A revoked key or a removed member stops working on every replica within one second").
import test, { type ExecutionContext } from 'ava'
import type { Simulator } from '../../src/simulator/index.js'
import {
  api,
  createKey,
  jsonOf,
  logIn,
  newSecret,
  pollFor,
  request,
  startGatewaySim,
  startReplicas,
  tlsFiles,
  trustingAgent,
  withKey,
  type GatewayProcess,
} from '../helpers/gateway-replicas.js'
import { startRedis } from '../helpers/redis-server.js'

/** The bound for a revocation or removal to reach every replica. */
const PROPAGATION_BUDGET_MS = 1_000
const POLL_EVERY_MS = 50

/** What the simulator received with a given token for /api/3/stacks… */
const stacksCallsWith = (sim: Simulator, token: string) => sim.requests.filter((r) => r.url.startsWith('/api/3/stacks') && r.token === token)

async function threeReplicas(t: ExecutionContext, args: readonly string[] = []) {
  const [sim, redis, tls] = await Promise.all([startGatewaySim(t), startRedis(t), tlsFiles(t)])
  const [a, b, c] = (await startReplicas(t, ['a', 'b', 'c'], { upstream: sim.url, store: redis.url, secret: newSecret(), tls, args })) as [
    GatewayProcess,
    GatewayProcess,
    GatewayProcess,
  ]
  return { sim, redis, a, b, c }
}

test('a login started on replica A and completed on B gives a session that replica C accepts', async (t) => {
  const { sim, a, b, c } = await threeReplicas(t)

  const login = await logIn(sim, a, b, 1)

  t.is(login.callback.headers.location, '/-/')
  t.regex(login.setCookie, /; HttpOnly/i)
  t.regex(login.setCookie, /; Secure/i)
  t.regex(login.setCookie, /; SameSite=Lax/i)
  // The login on B stored the member's Cloud 66 token in Redis; C knows the member from the session alone.
  const me = await api(c, login.session, 'GET', '/me')
  t.is(me.status, 200, me.text)
  const body = jsonOf<{ member: { id: string }; token: { present: boolean } }>(me)
  t.is(body.member.id, 'cloud66:1')
  t.true(body.token.present)
  // A forged session (right id, wrong signature) is refused on every replica.
  const forged = login.session.replace(/\.[^.]+$/, '.AAAA')
  t.is((await api(c, forged, 'GET', '/me')).status, 401)
})

test('a key created on replica A works on C, and once A revokes it C refuses it within a second', async (t) => {
  const { sim, a, b, c } = await threeReplicas(t)
  const { session } = await logIn(sim, a, b, 1)
  const { id, key } = await createKey(a, session, 'laptop')
  // One warm connection to C for the use and the polls, so each poll is a request, not a TLS handshake.
  const toC = { agent: trustingAgent(t) }

  const used = await withKey(c, key, '/stacks.json', toC)
  t.is(used.status, 200, used.text)
  t.true(Array.isArray(jsonOf<{ response: unknown }>(used).response))
  // What reached Cloud 66 carried the member's own token, never the gateway key.
  const forwarded = sim.requests.filter((r) => r.url.startsWith('/api/3/stacks'))
  t.is(forwarded.length, 1)
  const token = forwarded[0]?.token ?? ''
  t.is(sim.userOf(token), 1, 'the token of the member who logged in (ada)')
  t.false(JSON.stringify(forwarded[0]?.headers).includes(key), 'the key never reaches Cloud 66')

  // C has the key in its cache now; the revocation on A must reach it through Redis.
  const revoked = await api(a, session, 'DELETE', `/keys/${encodeURIComponent(id)}`)
  t.is(revoked.status, 200, revoked.text)
  t.truthy(jsonOf<{ revoked_at: string | null }>(revoked).revoked_at)
  const seen = await pollFor(
    () => withKey(c, key, '/stacks.json', toC),
    (r) => r.status !== 200,
    PROPAGATION_BUDGET_MS,
    POLL_EVERY_MS,
  )

  t.true(seen.withinBudget, `C still accepted the revoked key after ${PROPAGATION_BUDGET_MS} ms (${seen.polls} polls)`)
  t.is(seen.value.status, 401)
  t.is(jsonOf<{ error: string }>(seen.value).error, 'invalid_key')
  t.is(seen.value.headers['www-authenticate'], 'Basic realm="c66-proxy"')
  // The first use, the polls C still accepted, and nothing after: a refused request never reaches Cloud 66.
  const acceptedPolls = seen.polls - 1
  t.is(stacksCallsWith(sim, token).length, 1 + acceptedPolls)
  // And A and B refuse it too.
  for (const replica of [a, b]) t.is((await withKey(replica, key)).status, 401)
})

test('a member removed by an admin on replica B can no longer use their keys or session on A, within a second', async (t) => {
  const { sim, a, b, c } = await threeReplicas(t, ['--admins', 'cloud66:2'])
  const member = await logIn(sim, c, a, 1)
  const admin = await logIn(sim, b, b, 2)
  const { key } = await createKey(c, member.session, 'ci')
  const toA = { agent: trustingAgent(t) }
  // A knows the key, the member and the session: all cached there before the removal.
  t.is((await withKey(a, key, '/stacks.json', toA)).status, 200)
  t.is((await api(a, member.session, 'GET', '/me')).status, 200)

  const removed = await api(b, admin.session, 'DELETE', `/members/${encodeURIComponent('cloud66:1')}`)
  t.is(removed.status, 200, removed.text)
  const seen = await pollFor(
    () => withKey(a, key, '/stacks.json', toA),
    (r) => r.status !== 200,
    PROPAGATION_BUDGET_MS,
    POLL_EVERY_MS,
  )

  t.true(seen.withinBudget, `A still accepted the removed member's key after ${PROPAGATION_BUDGET_MS} ms (${seen.polls} polls)`)
  t.is(seen.value.status, 401)
  t.is(jsonOf<{ error: string }>(seen.value).error, 'invalid_key')
  t.is((await api(a, member.session, 'GET', '/me')).status, 401, 'the removed member is signed out everywhere')
  // The admin page on another replica no longer lists them, and their Cloud 66 token is gone.
  const members = jsonOf<Array<{ id: string }>>(await api(c, admin.session, 'GET', '/members'))
  t.deepEqual(
    members.map((m) => m.id),
    ['cloud66:2'],
  )
  // A plain GET of /-/ on A shows the signed-out page to the removed member's browser.
  const home = await request(a, '/-/', { headers: { cookie: member.session } })
  t.regex(home.text, /Log in with Cloud 66/)
})
