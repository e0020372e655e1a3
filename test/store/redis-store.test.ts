import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import test, { type ExecutionContext } from 'ava'
import { Redis } from 'ioredis'
import { systemClock } from '../../src/clock.js'
import { ConfigError } from '../../src/errors.js'
import { Secret } from '../../src/secret.js'
import { keyRingFromSecrets, type KeyRing } from '../../src/store/keys.js'
import { openRedisStore, RedisTokenStore, type RedisTokenStoreOptions } from '../../src/store/redis/index.js'
import { StoreError } from '../../src/store/types.js'
import { startRedis, startRedisSentinel, type RedisServer } from '../helpers/redis-server.js'
import { until } from '../helpers/wait.js'
import { spawnFixture } from './_child.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { collect, tokenStoreContract } from './_contract.js'
import { bareToken, described, fullToken } from './_tokens.js'

// One redis-server for the contract and the tests that only read and write; each test has its own
// key prefix. Tests that stop Redis start their own.
const fileTeardowns: Array<() => unknown> = []
let shared: RedisServer | undefined
test.before(async () => {
  shared = await startRedis({ teardown: (fn) => fileTeardowns.push(fn) })
})
test.after.always(async () => {
  for (const fn of fileTeardowns.reverse()) await fn()
})

function sharedRedis(): RedisServer {
  if (shared === undefined) throw new Error('the shared redis-server did not start')
  return shared
}

const newSecret = () => randomBytes(32)
const ring = (current: Buffer, ...previous: Buffer[]): KeyRing => keyRingFromSecrets(current, previous)
const newPrefix = () => `c66p-test-${randomBytes(6).toString('hex')}:`

/** A RedisTokenStore closed when the test ends. */
function openStore(t: ExecutionContext, options: Partial<RedisTokenStoreOptions> & { url?: string } = {}): RedisTokenStore {
  const store = new RedisTokenStore({
    url: options.url ?? sharedRedis().url,
    keyPrefix: options.keyPrefix ?? newPrefix(),
    keys: options.keys ?? ring(newSecret()),
    clock: options.clock ?? new FakeClock(),
    ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
    ...(options.lockTtlMs === undefined ? {} : { lockTtlMs: options.lockTtlMs }),
  })
  t.teardown(() => store.close())
  return store
}

/** A plain ioredis connection for looking at what the store wrote. */
function rawClient(t: ExecutionContext, url = sharedRedis().url): Redis {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  client.on('error', () => undefined)
  t.teardown(() => client.disconnect())
  return client
}

/** Rejects with a plain Error if `promise` has not settled within `safetyMs`: a hang fails the test, it never passes it. */
function withinSafety<T>(promise: Promise<T>, what: string, safetyMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${safetyMs} ms`)), safetyMs))),
  ]).finally(() => clearTimeout(timer))
}

/** A port on which nothing listens (it was bound and released). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

tokenStoreContract('redis store', async () => {
  const clock = new FakeClock()
  const store = new RedisTokenStore({ url: sharedRedis().url, keyPrefix: newPrefix(), keys: ring(newSecret()), clock })
  return { store, clock, dispose: () => store.close() }
})

test('redis store: location is the URL without user name, password or query, and messages never show the password', async (t) => {
  const port = await closedPort()
  const store = openStore(t, { url: `redis://gateway:s3cret-Pa55@127.0.0.1:${port}/2?password=s3cret-Pa55` })
  t.is(store.location, `redis://127.0.0.1:${port}/2`)
  t.is(openStore(t, { url: 'rediss://:s3cret-Pa55@redis.internal:6380' }).location, 'rediss://redis.internal:6380')
  const error = await t.throwsAsync(withinSafety(store.check(), 'check of an unreachable Redis'), { instanceOf: StoreError })
  t.is(error?.code, 'store_unavailable')
  t.true(error?.message.includes(`Redis at redis://127.0.0.1:${port}/2 is unreachable`), error?.message)
  t.false(error?.message.includes('s3cret'), 'the message holds the password')
})

test('redis store: a URL that is not redis:// or rediss:// is refused without echoing it', (t) => {
  for (const url of ['http://user:s3cret@127.0.0.1:6379', 'not a url s3cret']) {
    const error = t.throws(() => new RedisTokenStore({ url, keys: ring(newSecret()), clock: new FakeClock() }), { instanceOf: ConfigError })
    t.regex(error?.message ?? '', /C66_PROXY_STORE/)
    t.false(error?.message.includes('s3cret'))
  }
})

test('redis store: Redis holds no token, one-time value or document in the clear, only sealed records under the expected keys', async (t) => {
  const prefix = newPrefix()
  const keys = ring(newSecret())
  const store = openStore(t, { keyPrefix: prefix, keys })
  const canaries = {
    access: 'CANARY-ACCESS-7f3a9b',
    refresh: 'CANARY-REFRESH-51c2d8',
    once: 'CANARY-VERIFIER-e90d44',
    doc: 'CANARY-DOCUMENT-0b77aa',
  }
  await store.putToken('alice', fullToken({ accessToken: new Secret(canaries.access), refreshToken: new Secret(canaries.refresh) }))
  await store.putOnce('login', 'state-1', canaries.once, 60_000)
  await store.putDoc('members', 'alice', JSON.stringify({ note: canaries.doc }))
  await store.putDoc('sessions', 's1', canaries.doc, 60_000)
  await store.withLock('refresh:alice', async () => undefined)

  const raw = rawClient(t)
  const names = (await raw.keys(`${prefix}*`)).sort()
  t.deepEqual(names, [`${prefix}doc:members:alice`, `${prefix}doc:sessions:s1`, `${prefix}once:login:state-1`, `${prefix}token:alice`])
  for (const name of names) {
    t.is(await raw.type(name), 'string')
    const value = (await raw.get(name)) ?? ''
    const dumped = (await raw.dumpBuffer(name))?.toString('latin1') ?? ''
    for (const canary of Object.values(canaries)) {
      t.false(value.includes(canary), `${canary} is in ${name}`)
      t.false(dumped.includes(canary), `${canary} is in the dump of ${name}`)
    }
    t.false(value.includes('public redeploy'), 'the scope is sealed too')
    const sealed = JSON.parse(value) as { kid: string; iv: string; tag: string; ct: string }
    t.deepEqual(Object.keys(sealed).sort(), ['ct', 'iv', 'kid', 'tag'])
    t.is(sealed.kid, keys.current.kid)
  }
  t.true((await raw.pttl(`${prefix}once:login:state-1`)) > 0, 'a one-time value is garbage-collected by Redis')
  t.true((await raw.pttl(`${prefix}doc:sessions:s1`)) > 0, 'so is an expiring document')
  t.is(await raw.pttl(`${prefix}doc:members:alice`), -1, 'a document without expiry stays')
})

test('redis store: a sealed value copied under another caller does not open', async (t) => {
  const prefix = newPrefix()
  const store = openStore(t, { keyPrefix: prefix })
  await store.putToken('alice', bareToken('access-alice'))
  const raw = rawClient(t)
  await raw.set(`${prefix}token:mallory`, (await raw.get(`${prefix}token:alice`)) ?? '')
  const error = await t.throwsAsync(store.getToken('mallory'), { instanceOf: StoreError })
  t.is(error?.code, 'store_key_mismatch')
  t.true(error?.message.includes(sharedRedis().url))
  t.is((await store.getToken('alice'))?.accessToken.reveal(), 'access-alice')
})

test('redis store: a value that is not a sealed record is reported as store_corrupt, not taken for a token', async (t) => {
  const prefix = newPrefix()
  const store = openStore(t, { keyPrefix: prefix })
  await rawClient(t).set(`${prefix}token:alice`, 'plain-token-someone-wrote')
  const error = await t.throwsAsync(store.getToken('alice'), { instanceOf: StoreError })
  t.is(error?.code, 'store_corrupt')
  t.false(error?.message.includes('plain-token-someone-wrote'))
})

test('redis store: stores with different key prefixes on one Redis do not see each other', async (t) => {
  const keys = ring(newSecret())
  const a = openStore(t, { keys })
  const b = openStore(t, { keys })
  await a.putToken('alice', bareToken('access-a'))
  await a.putDoc('members', 'alice', 'in a')
  t.is(await b.getToken('alice'), undefined)
  t.deepEqual(await b.listCallers(), [])
  t.deepEqual(await b.listDocs('members'), [])
})

test('redis store: check refuses a store sealed with another secret, naming the URL and never a secret', async (t) => {
  const prefix = newPrefix()
  const right = newSecret()
  await openStore(t, { keyPrefix: prefix, keys: ring(right) }).putToken('alice', fullToken())
  const wrong = newSecret()
  const error = await t.throwsAsync(openStore(t, { keyPrefix: prefix, keys: ring(wrong) }).check(), { instanceOf: StoreError })
  t.is(error?.code, 'store_key_mismatch')
  t.true(error?.message.includes(sharedRedis().url))
  for (const secret of [right, wrong]) for (const form of ['hex', 'base64', 'base64url'] as const) t.false(error?.message.includes(secret.toString(form)))
  await openStore(t, { keyPrefix: prefix, keys: ring(right) }).check()
})

test('redis store: openRedisStore needs C66_PROXY_SECRET, and opens a checked store with it', async (t) => {
  const missing = await t.throwsAsync(openRedisStore({ url: sharedRedis().url, env: {}, clock: systemClock }), { instanceOf: ConfigError })
  t.regex(missing?.message ?? '', /C66_PROXY_SECRET/)
  const secret = newSecret().toString('hex')
  const prefix = newPrefix()
  const store = await openRedisStore({ url: sharedRedis().url, env: { C66_PROXY_SECRET: secret }, clock: systemClock, keyPrefix: prefix })
  t.teardown(() => store.close())
  await store.putToken('alice', bareToken('access-alice'))
  const again = await openRedisStore({ url: sharedRedis().url, env: { C66_PROXY_SECRET: secret }, clock: systemClock, keyPrefix: prefix })
  t.teardown(() => again.close())
  t.is((await again.getToken('alice'))?.accessToken.reveal(), 'access-alice')
  const unreachable = await t.throwsAsync(
    withinSafety(
      openRedisStore({ url: `redis://127.0.0.1:${await closedPort()}`, env: { C66_PROXY_SECRET: secret }, clock: systemClock }),
      'opening an unreachable Redis',
    ),
    { instanceOf: StoreError },
  )
  t.is(unreachable?.code, 'store_unavailable')
})

test('redis store: key rotation opens old records with a previous secret, and reseal moves every record to the new key', async (t) => {
  const prefix = newPrefix()
  const clock = new FakeClock()
  const oldSecret = newSecret()
  const newer = newSecret()
  const first = openStore(t, { keyPrefix: prefix, keys: ring(oldSecret), clock })
  await first.putToken('alice', fullToken())
  await first.putOnce('login', 'state-1', 'verifier-1', 60_000)
  await first.putDoc('members', 'alice', 'member alice')
  await first.putDoc('sessions', 'old', 'expired session', 1_000)
  clock.advance(1_000)

  const rotated = openStore(t, { keyPrefix: prefix, keys: ring(newer, oldSecret), clock })
  t.is(await rotated.reseal(), 3, 'the expired session is dropped, not counted')
  const raw = rawClient(t)
  for (const name of await raw.keys(`${prefix}*`)) t.is((JSON.parse((await raw.get(name)) ?? '{}') as { kid?: string }).kid, ring(newer).current.kid, name)
  t.true((await raw.pttl(`${prefix}once:login:state-1`)) > 0, 'reseal keeps the garbage-collection expiry')

  const newOnly = openStore(t, { keyPrefix: prefix, keys: ring(newer), clock })
  await newOnly.check()
  t.deepEqual(described(await newOnly.getToken('alice')), described(fullToken()))
  t.is(await newOnly.getDoc('members', 'alice'), 'member alice')
  t.is(await newOnly.takeOnce('login', 'state-1'), 'verifier-1')
  t.is(await raw.exists(`${prefix}doc:sessions:old`), 0)
})

test('redis store: of two store objects taking the same one-time values at once, each value goes to exactly one', async (t) => {
  const prefix = newPrefix()
  const keys = ring(newSecret())
  const a = openStore(t, { keyPrefix: prefix, keys })
  const b = openStore(t, { keyPrefix: prefix, keys })
  const ids = Array.from({ length: 30 }, (_, i) => `state-${i}`)
  for (const id of ids) await a.putOnce('login', id, `verifier-${id}`, 60_000)
  // Both connected first, so their takes reach Redis interleaved.
  await Promise.all([a.check(), b.check()])
  const [byA, byB] = await Promise.all([a, b].map((store) => Promise.all(ids.map((id) => store.takeOnce('login', id)))))
  ids.forEach((id, i) => {
    const takers = [byA?.[i], byB?.[i]].filter((v) => v !== undefined)
    t.deepEqual(takers, [`verifier-${id}`], id)
  })
})

test('redis store: a lock is released only by its owner: a holder whose lock expired does not release its successor’s', async (t) => {
  const prefix = newPrefix()
  const keys = ring(newSecret())
  const lockKey = `${prefix}lock:refresh%3Aalice`
  const raw = rawClient(t)
  const first = openStore(t, { keyPrefix: prefix, keys })
  const second = openStore(t, { keyPrefix: prefix, keys })
  const third = openStore(t, { keyPrefix: prefix, keys, lockTimeoutMs: 200 })

  let finishFirst!: () => void
  let firstInside!: () => void
  const firstEntered = new Promise<void>((resolve) => (firstInside = resolve))
  const firstDone = first.withLock('refresh:alice', async () => {
    firstInside()
    await new Promise<void>((resolve) => (finishFirst = resolve))
  })
  await firstEntered
  const firstOwner = await raw.get(lockKey)
  t.truthy(firstOwner, 'the lock is a Redis key while held')
  // While held, another store object can neither take it nor remove it.
  t.is(
    (
      await t.throwsAsync(
        third.withLock('refresh:alice', async () => 'never'),
        { instanceOf: StoreError },
      )
    )?.code,
    'store_locked',
  )
  t.is(await raw.get(lockKey), firstOwner)

  // As if the first holder stalled past the lock's expiry: the lock goes, and the second store takes it.
  await raw.del(lockKey)
  let finishSecond!: () => void
  let secondInside!: () => void
  const secondEntered = new Promise<void>((resolve) => (secondInside = resolve))
  const secondDone = second.withLock('refresh:alice', async () => {
    secondInside()
    await new Promise<void>((resolve) => (finishSecond = resolve))
  })
  await secondEntered
  const secondOwner = await raw.get(lockKey)
  t.truthy(secondOwner)
  t.not(secondOwner, firstOwner)

  finishFirst()
  await firstDone
  t.is(await raw.get(lockKey), secondOwner, 'the first holder’s release left the second holder’s lock alone')
  t.is(
    (
      await t.throwsAsync(
        third.withLock('refresh:alice', async () => 'never'),
        { instanceOf: StoreError },
      )
    )?.code,
    'store_locked',
  )

  finishSecond()
  await secondDone
  t.is(await raw.exists(lockKey), 0, 'its owner released it')
  t.is(await third.withLock('refresh:alice', async () => 'free again'), 'free again')
})

test('redis store: a holder keeps its lock past the lock’s expiry by extending it, and a killed holder’s lock expires', async (t) => {
  const prefix = newPrefix()
  const secret = newSecret()
  const lockTtlMs = 1_000
  const child = spawnFixture(t, 'redis-worker', ['hold', 'refresh:alice'], {
    REDIS_URL: sharedRedis().url,
    REDIS_PREFIX: prefix,
    STORE_SECRET: secret.toString('hex'),
    LOCK_TTL_MS: String(lockTtlMs),
  })
  await child.waitForLine(/^locked /)
  // The waiter waits several lock lifetimes: only the holder's extensions keep it out.
  const impatient = openStore(t, { keyPrefix: prefix, keys: ring(secret), lockTimeoutMs: lockTtlMs * 3, lockTtlMs })
  const error = await t.throwsAsync(
    impatient.withLock('refresh:alice', async () => 'stolen'),
    { instanceOf: StoreError },
  )
  t.is(error?.code, 'store_locked')
  t.regex(error?.message ?? '', /refresh:alice/)

  child.child.kill('SIGKILL')
  await child.closed
  const patient = openStore(t, { keyPrefix: prefix, keys: ring(secret), lockTimeoutMs: 20_000, lockTtlMs })
  t.is(await patient.withLock('refresh:alice', async () => 'taken after expiry'), 'taken after expiry')
})

test('redis store: withLock serialises two processes doing read-modify-write on one document', async (t) => {
  t.timeout(60_000)
  const prefix = newPrefix()
  const secret = newSecret()
  const increments = 25
  const env = { REDIS_URL: sharedRedis().url, REDIS_PREFIX: prefix, STORE_SECRET: secret.toString('hex') }
  const workers = [0, 1].map(() => spawnFixture(t, 'redis-worker', ['count', String(increments)], env))
  await Promise.all(workers.map((w) => w.waitForLine(/^ready$/)))
  for (const w of workers) w.send('go')
  for (const w of workers) {
    await w.waitForLine(/^done$/)
    t.is((await w.closed).code, 0)
  }
  t.is(await openStore(t, { keyPrefix: prefix, keys: ring(secret) }).getDoc('counter', 'value'), String(2 * increments))
})

test('redis store: a message published by one store object reaches a subscriber on another connection, and no store of another prefix', async (t) => {
  const prefix = newPrefix()
  const keys = ring(newSecret())
  const publisher = openStore(t, { keyPrefix: prefix, keys })
  const subscriber = openStore(t, { keyPrefix: prefix, keys })
  const otherGateway = openStore(t, { keys })
  const heard = collect(subscriber.bus, 'keys')
  const heardElsewhere = collect(otherGateway.bus, 'keys')
  t.teardown(() => (heard.stop(), heardElsewhere.stop()))
  await subscriber.bus.whenSubscribed()
  await otherGateway.bus.whenSubscribed()
  await publisher.bus.publish('keys', 'revoked k1')
  // Pushed by Redis as soon as it is published: no polling anywhere.
  await heard.received(1)
  t.deepEqual(heard.messages, ['revoked k1'])
  await otherGateway.bus.publish('keys', 'its own')
  await heardElsewhere.received(1)
  t.deepEqual(heardElsewhere.messages, ['its own'], 'the other prefix heard only its own message')
})

test('redis store: while Redis is down every operation fails quickly with store_unavailable; when it returns the same store works again, subscriptions included', async (t) => {
  t.timeout(60_000)
  const redis = await startRedis(t)
  const keys = ring(newSecret())
  const prefix = newPrefix()
  const store = openStore(t, { url: redis.url, keyPrefix: prefix, keys })
  const publisher = openStore(t, { url: redis.url, keyPrefix: prefix, keys })
  await store.putToken('alice', bareToken('access-alice'))
  const heard = collect(store.bus, 'keys')
  t.teardown(() => heard.stop())
  await store.bus.whenSubscribed()
  await publisher.bus.publish('keys', 'before')
  await heard.received(1)

  await redis.stop()
  const attempts: Array<[string, Promise<unknown>]> = [
    ['getToken', store.getToken('alice')],
    ['putToken', store.putToken('bob', bareToken())],
    ['listDocs', store.listDocs('members')],
    ['takeOnce', store.takeOnce('login', 'x')],
    ['withLock', store.withLock('refresh:alice', async () => 'never ran')],
    ['publish', store.bus.publish('keys', 'lost')],
    ['check', store.check()],
  ]
  for (const [what, attempt] of attempts) {
    const error = await t.throwsAsync(withinSafety(attempt, `${what} during the outage`), { instanceOf: StoreError }, what)
    t.is(error?.code, 'store_unavailable', what)
    t.true(error?.message.includes(`Redis at ${redis.url} is unreachable`), error?.message)
  }

  await redis.start()
  // The restarted Redis kept nothing (no persistence): the store reconnects by itself and writes again.
  await until(
    'the store to reconnect',
    async () =>
      await store.putToken('alice', bareToken('access-again')).then(
        () => true,
        () => undefined,
      ),
    15_000,
    50,
  )
  t.is((await store.getToken('alice'))?.accessToken.reveal(), 'access-again')
  await store.check()
  // The subscription made before the outage is renewed on the new connection: keep publishing until it hears one.
  let sent = 0
  await until(
    'the old subscription to hear a message again',
    async () => {
      await publisher.bus.publish('keys', `after ${++sent}`).catch(() => undefined)
      return heard.messages.length > 1 ? true : undefined
    },
    15_000,
    50,
  )
  t.regex(heard.messages[1] ?? '', /^after \d+$/)
})

test('redis store: a store created while Redis is down fails fast, then works once Redis is up, without being recreated', async (t) => {
  t.timeout(60_000)
  const redis = await startRedis(t)
  await redis.stop()
  const store = openStore(t, { url: redis.url })
  const error = await t.throwsAsync(withinSafety(store.getToken('alice'), 'getToken with Redis down'), { instanceOf: StoreError })
  t.is(error?.code, 'store_unavailable')
  const second = await t.throwsAsync(withinSafety(store.getToken('alice'), 'a second getToken with Redis down'), { instanceOf: StoreError })
  t.is(second?.code, 'store_unavailable')
  await redis.start()
  await until(
    'the store to connect',
    async () =>
      await store.check().then(
        () => true,
        () => undefined,
      ),
    15_000,
    50,
  )
  await store.putToken('alice', bareToken('access-alice'))
  t.is((await store.getToken('alice'))?.accessToken.reveal(), 'access-alice')
})

test('redis store: through Sentinel (ioredis options), the store finds the master and works as usual', async (t) => {
  const sentinel = await startRedisSentinel(t, sharedRedis().port)
  const keys = ring(newSecret())
  const prefix = newPrefix()
  const store = new RedisTokenStore({
    // With Sentinel the URL's host is not used: the sentinels name the master.
    url: 'redis://sentinel-managed:6379',
    keyPrefix: prefix,
    keys,
    clock: new FakeClock(),
    redisOptions: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: sentinel.name },
  })
  t.teardown(() => store.close())
  await store.check()
  await store.putToken('alice', bareToken('access-alice'))
  // Written to the master the sentinel named: a direct store on that master reads it.
  t.is((await openStore(t, { keyPrefix: prefix, keys }).getToken('alice'))?.accessToken.reveal(), 'access-alice')
  t.is(store.location, `redis-sentinel://127.0.0.1:${sentinel.port}/mymaster`, 'messages name the sentinels, not the unused URL host')
})
