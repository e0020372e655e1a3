// A member whose Cloud 66 token expired, 300 concurrent requests spread over three gateway
// processes sharing one real Redis: exactly one refresh at Cloud 66's /oauth/token (Doorkeeper
// rotates refresh tokens, so a second refresh would burn the pair), and every request succeeds.
// What makes it true: an in-process single flight, then a Redis lock (SET NX PX), then a re-read.
import test, { type ExecutionContext } from 'ava'
import { systemClock } from '../../src/clock.js'
import { Secret } from '../../src/secret.js'
import type { Simulator } from '../../src/simulator/index.js'
import { openRedisStore } from '../../src/store/redis/index.js'
import {
  createKey,
  logIn,
  newSecret,
  startGatewaySim,
  startReplicas,
  tlsFiles,
  trustingAgent,
  withKey,
  type GatewayProcess,
} from '../helpers/gateway-replicas.js'
import { apiStatus } from '../helpers/oauth-sim.js'
import { startRedis } from '../helpers/redis-server.js'

const CONCURRENT = 300
/** A burst of 300 on a busy two-core CI machine can be slow; this only stops a hung test. */
const BURST_SAFETY_MS = 45_000
const MEMBER = 'cloud66:1'

interface Setup {
  readonly sim: Simulator
  readonly replicas: GatewayProcess[]
  readonly redisUrl: string
  readonly secret: string
  readonly key: string
}

/**
 * The simulator issues refresh tokens (rotating, Doorkeeper's use_refresh_token) and tokens that
 * live an hour; three replicas; ada logs in (start on A, finish on B) and makes a key on C. No
 * replica has used her token yet, so none has it in memory.
 */
async function setUp(t: ExecutionContext): Promise<Setup> {
  const [sim, redis, tls] = await Promise.all([startGatewaySim(t, { issueRefreshTokens: true, accessTokenTtlSeconds: 3_600 }), startRedis(t), tlsFiles(t)])
  const secret = newSecret()
  // 300 requests of one member at once, from one address: lift the fairness caps (per-member
  // concurrency, per-address connections), which are tested on their own; this is about refreshes.
  const replicas = await startReplicas(t, ['a', 'b', 'c'], {
    upstream: sim.url,
    store: redis.url,
    secret,
    tls,
    args: ['--member-concurrency', '300', '--max-client-connections', '1000'],
  })
  const [a, b, c] = replicas as [GatewayProcess, GatewayProcess, GatewayProcess]
  const { session } = await logIn(sim, a, b, 1)
  const { key } = await createKey(c, session, 'burst')
  return { sim, replicas, redisUrl: redis.url, secret, key }
}

/** `CONCURRENT` requests at once, round-robin over the replicas, each replica on keep-alive connections. */
async function burst(t: ExecutionContext, replicas: readonly GatewayProcess[], key: string) {
  const agents = replicas.map(() => trustingAgent(t))
  return Promise.all(
    Array.from({ length: CONCURRENT }, (_, i) => {
      const n = i % replicas.length
      // Distinct queries: identical concurrent GETs of one member would share one upstream request.
      return withKey(replicas[n] as GatewayProcess, key, `/stacks.json?i=${i}`, { ...(agents[n] ? { agent: agents[n] } : {}), safetyMs: BURST_SAFETY_MS })
    }),
  )
}

const refreshCalls = (sim: Simulator) =>
  sim.requests.filter(
    (r) => r.method === 'POST' && r.url === '/oauth/token' && new URLSearchParams(r.body.toString('utf8')).get('grant_type') === 'refresh_token',
  )

test('300 concurrent requests over three replicas for a member whose token has expired cause exactly one refresh, and all succeed', async (t) => {
  const { sim, replicas, redisUrl, secret, key } = await setUp(t)
  // Ada logged in an hour ago with a token that lived an hour: the gateway's stored expiry has passed
  // and Cloud 66 says it expired. Written the way a login writes it: sealed in Redis. (The refreshed
  // token lives as long as the original, as with Doorkeeper: an hour, so nothing in this burst is due
  // for a second, legitimate, refresh; with a two-second token a slow burst would see one.)
  const issued = sim.issueToken(1, ['public'], { expiresInSeconds: 3_600, refreshToken: true })
  sim.expireToken(issued.accessToken)
  t.is((await apiStatus(sim, issued.accessToken)).status, 401, 'Cloud 66 says the token expired')
  const store = await openRedisStore({ url: redisUrl, env: { C66_PROXY_SECRET: secret }, clock: systemClock })
  t.teardown(() => store.close())
  const now = Date.now()
  await store.putToken(MEMBER, {
    accessToken: new Secret(issued.accessToken),
    refreshToken: new Secret(issued.refreshToken ?? ''),
    tokenType: 'Bearer',
    scope: 'public',
    expiresAt: now - 1,
    obtainedAt: now - 3_600_001,
    origin: 'oauth',
  })
  const before = sim.oauthCalls.tokenByGrant['refresh_token'] ?? 0
  const seenBefore = sim.requests.length

  const replies = await burst(t, replicas, key)

  t.deepEqual([...new Set(replies.map((r) => r.status))], [200], JSON.stringify(replies.find((r) => r.status !== 200)?.text))
  t.is((sim.oauthCalls.tokenByGrant['refresh_token'] ?? 0) - before, 1, 'exactly one refresh at /oauth/token')
  t.is(refreshCalls(sim).length, 1)
  // Every request reached Cloud 66 once, all with the one refreshed token: none with the expired one.
  const stacks = sim.requests.slice(seenBefore).filter((r) => r.url.startsWith('/api/3/stacks'))
  t.is(stacks.length, CONCURRENT)
  const used = new Set(stacks.map((r) => r.token))
  t.is(used.size, 1)
  t.false(used.has(issued.accessToken))
  t.is(sim.userOf([...used][0] ?? ''), 1)
  // The rotated pair is what Redis holds now, for every replica and the next restart.
  const stored = await store.getToken(MEMBER)
  t.true(stored?.accessToken.equals(new Secret([...used][0] ?? '')))
  t.false(stored?.refreshToken?.equals(new Secret(issued.refreshToken ?? '')), 'the rotated refresh token was stored')
})

test('when Cloud 66 reports a token expired before the gateway expected it, 300 concurrent requests over three replicas still cause exactly one refresh', async (t) => {
  const { sim, replicas, key } = await setUp(t)
  const [a, b, c] = replicas as [GatewayProcess, GatewayProcess, GatewayProcess]
  // Each replica uses the login's token once, so each holds it in memory, believing it good for an hour.
  for (const replica of [a, b, c]) t.is((await withKey(replica, key)).status, 200)
  const loginToken = sim.requests.find((r) => r.url.startsWith('/api/3/stacks'))?.token ?? ''
  t.is(sim.userOf(loginToken), 1)
  sim.expireToken(loginToken)
  const before = sim.oauthCalls.tokenByGrant['refresh_token'] ?? 0
  const seenBefore = sim.requests.length

  const replies = await burst(t, replicas, key)

  t.deepEqual([...new Set(replies.map((r) => r.status))], [200], JSON.stringify(replies.find((r) => r.status !== 200)?.text))
  t.is((sim.oauthCalls.tokenByGrant['refresh_token'] ?? 0) - before, 1, 'exactly one refresh at /oauth/token')
  // Each request reached Cloud 66 at most twice (the expired token's 401, then one replay) and succeeded with the new token.
  const after = sim.requests.slice(seenBefore).filter((r) => r.url.startsWith('/api/3/stacks'))
  const fresh = after.filter((r) => r.token !== loginToken)
  t.is(fresh.length, CONCURRENT)
  t.is(new Set(fresh.map((r) => r.token)).size, 1)
  t.true(after.length <= 2 * CONCURRENT)
})
