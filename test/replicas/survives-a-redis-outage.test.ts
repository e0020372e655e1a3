// Gateway processes whose shared Redis goes away mid-traffic and comes back (issue 4): members
// already in a replica's memory keep working for the outage grace period, logins and key changes
// get 503 with a clear message, /-/readyz fails; when Redis returns everything recovers without
// restarting a replica; and once the grace period is over with Redis still down, requests fail closed.
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
  type GatewayReply,
} from '../helpers/gateway-replicas.js'
import { within } from '../helpers/forwarding.js'
import { startRedis, type RedisServer } from '../helpers/redis-server.js'
import { until } from '../helpers/wait.js'

const STORE_DOWN = /store is unreachable/i

interface Outage {
  readonly sim: Simulator
  readonly redis: RedisServer
  readonly replicas: GatewayProcess[]
}

async function setUp(t: ExecutionContext, ids: readonly string[], args: readonly string[] = []): Promise<Outage> {
  const [sim, redis, tls] = await Promise.all([startGatewaySim(t), startRedis(t), tlsFiles(t)])
  const replicas = await startReplicas(t, ids, { upstream: sim.url, store: redis.url, secret: newSecret(), tls, args })
  return { sim, redis, replicas }
}

/**
 * Requests with `key`, one after another, alternating over `replicas`, until stopped. Each answer
 * is recorded; `waitFor(n)` resolves once n more answers have arrived (event-driven).
 */
function steadyTraffic(replicas: readonly GatewayProcess[], key: string) {
  /** Statuses in order; 0 stands for a request that got no HTTP answer at all. */
  const answers: number[] = []
  let waiters: Array<{ count: number; resolve: () => void }> = []
  let stopped = false
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const reply = await withKey(replicas[i % replicas.length] as GatewayProcess, key).catch(() => undefined)
      answers.push(reply?.status ?? 0)
      const due = waiters.filter((w) => answers.length >= w.count)
      waiters = waiters.filter((w) => answers.length < w.count)
      for (const w of due) w.resolve()
    }
  })()
  return {
    answers,
    /** Resolves once `more` answers beyond the current ones have arrived. */
    more(more: number): Promise<void> {
      const count = answers.length + more
      return within(new Promise<void>((resolve) => waiters.push({ count, resolve })), `${more} more answers to the steady traffic`)
    },
    async stop(): Promise<void> {
      stopped = true
      await loop
    },
  }
}

const errorOf = (reply: GatewayReply) => jsonOf<{ error: string; message: string }>(reply)

test('while Redis is down a cached member keeps working, key changes and readiness fail with 503, and after Redis returns everything works again without a restart', async (t) => {
  const { sim, redis, replicas } = await setUp(t, ['a', 'b'])
  const [a, b] = replicas as [GatewayProcess, GatewayProcess]
  const { session } = await logIn(sim, a, b, 1)
  const { id, key } = await createKey(a, session, 'steady')
  for (const replica of [a, b]) t.is((await withKey(replica, key)).status, 200, `${replica.id} knows the member before the outage`)
  const traffic = steadyTraffic([a, b], key)
  t.teardown(() => traffic.stop())
  await traffic.more(4)

  await redis.stop()
  const atOutage = traffic.answers.length
  await traffic.more(10)

  // Key changes need the store: a clear 503, on either replica.
  const create = await api(a, session, 'POST', '/keys', { label: 'during the outage' })
  t.is(create.status, 503, create.text)
  t.is(errorOf(create).error, 'store_unavailable')
  t.regex(errorOf(create).message, STORE_DOWN)
  const revoke = await api(b, session, 'DELETE', `/keys/${encodeURIComponent(id)}`)
  t.is(revoke.status, 503, revoke.text)
  t.is(errorOf(revoke).error, 'store_unavailable')
  // Both replicas tell the load balancer they are not ready, and why.
  for (const replica of [a, b]) {
    const ready = await request(replica, '/-/readyz')
    t.is(ready.status, 503, `${replica.id}: ${ready.text}`)
    t.deepEqual(jsonOf<{ problems: string[] }>(ready).problems, ['the shared store is unreachable'])
  }
  await traffic.more(4)
  await traffic.stop()
  const duringOutage = traffic.answers.slice(atOutage)
  t.true(duringOutage.length >= 14)
  t.deepEqual([...new Set(duringOutage)], [200], 'every request of the cached member succeeded during the outage')

  // Redis comes back (empty: the test's Redis does not persist, a real one must). Same processes.
  await redis.start()
  for (const replica of [a, b]) {
    await until(`${replica.id} to be ready again`, async () => ((await request(replica, '/-/readyz')).status === 200 ? true : undefined), 20_000, 100)
  }
  const again = await logIn(sim, b, a, 1)
  const fresh = await createKey(b, again.session, 'after the outage')
  const toB = { agent: trustingAgent(t) }
  for (const replica of [a, b]) {
    const used = await withKey(replica, fresh.key, '/stacks.json', replica === b ? toB : {})
    t.is(used.status, 200, `${replica.id}: ${used.text}`)
  }
  const revoked = await api(a, again.session, 'DELETE', `/keys/${encodeURIComponent(fresh.id)}`)
  t.is(revoked.status, 200, revoked.text)
  // The invalidation channel works again too: b, which used the key a moment ago, refuses it.
  const refused = await pollFor(
    () => withKey(b, fresh.key, '/stacks.json', toB),
    (r) => r.status !== 200,
    1_000,
    50,
  )
  t.true(refused.withinBudget, 'the revocation reached the other replica over the re-established subscription')
  t.is(refused.value.status, 401)
})

// A login needs the store (the pending login is kept there): during an outage it must say so with
// a 503, not fail as an internal error or send the browser to Cloud 66 for nothing.
test('a login attempted while Redis is down gets 503 with a clear message', async (t) => {
  const { redis, replicas } = await setUp(t, ['a'])
  const [a] = replicas as [GatewayProcess]
  await redis.stop()

  const login = await request(a, '/-/login')

  t.is(login.status, 503, login.text)
  t.is(login.headers.location, undefined, 'no redirect to Cloud 66 for a login that could not be recorded')
  t.regex(login.text, STORE_DOWN)
})

test('once the outage grace period is over with Redis still down, a cached member is refused with 503 instead of being let through', async (t) => {
  const GRACE_MS = 2_000
  /** The grace period plus a generous allowance for a busy machine; far below the 30 s a cached entry is otherwise trusted. */
  const BUDGET_MS = GRACE_MS + 8_000
  const { sim, redis, replicas } = await setUp(t, ['a'], ['--store-outage-grace', '2s'])
  const [a] = replicas as [GatewayProcess]
  const { session } = await logIn(sim, a, a, 1)
  const { key } = await createKey(a, session, 'grace')
  t.is((await withKey(a, key)).status, 200)

  await redis.stop()
  const refused = await pollFor(
    () => withKey(a, key),
    (r) => r.status !== 200,
    BUDGET_MS,
    100,
  )

  t.true(refused.withinBudget, `the member was still let through ${BUDGET_MS} ms into the outage (grace ${GRACE_MS} ms)`)
  t.is(refused.value.status, 503, refused.value.text)
  t.is(errorOf(refused.value).error, 'store_unavailable')
  // It stays closed while Redis is away, and nothing more reaches Cloud 66.
  const forwarded = sim.requests.length
  for (let i = 0; i < 3; i++) t.is((await withKey(a, key)).status, 503)
  t.is(sim.requests.length, forwarded)
})
