// The per-member rate limit lives in Redis, so a member spreading requests over replicas gets the
// one budget, not one per replica (issue 4: "only API requests count, across all replicas; 429 with
// Retry-After when exceeded").
import test from 'ava'
import {
  api,
  createKey,
  jsonOf,
  logIn,
  newSecret,
  startGatewaySim,
  startReplicas,
  tlsFiles,
  withKey,
  type GatewayProcess,
} from '../helpers/gateway-replicas.js'
import { startRedis } from '../helpers/redis-server.js'

test('with --member-rate 6/m, three requests on each of two replicas use up the budget and the seventh, on the third replica, gets 429', async (t) => {
  const [sim, redis, tls] = await Promise.all([startGatewaySim(t), startRedis(t), tlsFiles(t)])
  const replicas = await startReplicas(t, ['a', 'b', 'c'], { upstream: sim.url, store: redis.url, secret: newSecret(), tls, args: ['--member-rate', '6/m'] })
  const [a, b, c] = replicas as [GatewayProcess, GatewayProcess, GatewayProcess]
  const { session } = await logIn(sim, a, b, 1)
  const { key } = await createKey(c, session, 'rate')
  // The gateway's own pages and API are not API requests: they do not count.
  for (let i = 0; i < 8; i++) t.is((await api(c, session, 'GET', '/keys')).status, 200)

  const first = []
  for (const replica of [a, a, a, b, b, b]) first.push((await withKey(replica, key)).status)
  const seventh = await withKey(c, key)

  t.deepEqual(first, [200, 200, 200, 200, 200, 200])
  t.is(seventh.status, 429, seventh.text)
  t.is(jsonOf<{ error: string }>(seventh).error, 'rate_limited')
  const retryAfter = Number(seventh.headers['retry-after'])
  t.true(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${seventh.headers['retry-after']}`)
  // The refused request never reached Cloud 66; the six before it did.
  t.is(sim.requests.filter((r) => r.url.startsWith('/api/3/stacks')).length, 6)
  // The budget is the member's, on every replica.
  for (const replica of [a, b]) t.is((await withKey(replica, key)).status, 429)
})
