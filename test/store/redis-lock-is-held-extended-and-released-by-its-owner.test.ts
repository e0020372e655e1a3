import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import test, { type ExecutionContext } from 'ava'
import { Redis } from 'ioredis'
import { RedisConnection } from '../../src/store/redis/connection.js'
import { deleteIfHolds, RedisLock, type RedisLockOptions } from '../../src/store/redis/lock.js'
import { StoreError } from '../../src/store/types.js'
import { startRedis, type RedisServer } from '../helpers/redis-server.js'

// The lock of the Redis store on its own, against a real redis-server: each RedisLock here has its
// own connection, as each replica would.
const fileTeardowns: Array<() => unknown> = []
let shared: RedisServer | undefined
test.before(async () => {
  shared = await startRedis({ teardown: (fn) => fileTeardowns.push(fn) })
})
test.after.always(async () => {
  for (const fn of fileTeardowns.reverse()) await fn()
})

function redisUrl(): string {
  if (shared === undefined) throw new Error('the redis-server did not start')
  return shared.url
}

const newPrefix = () => `c66p-lock-${randomBytes(6).toString('hex')}:`

/** A lock on a connection of its own, closed when the test ends. */
function openLock(t: ExecutionContext, options: RedisLockOptions): { lock: RedisLock; connection: RedisConnection } {
  const connection = new RedisConnection({ url: redisUrl() })
  const lock = new RedisLock(connection, options)
  t.teardown(async () => {
    lock.close()
    await connection.close()
  })
  return { lock, connection }
}

function rawClient(t: ExecutionContext): Redis {
  const client = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 })
  client.on('error', () => undefined)
  t.teardown(() => client.disconnect())
  return client
}

/** Work that runs until `finish()` is called; `entered` resolves once it started. */
function heldWork(): { work: () => Promise<void>; entered: Promise<void>; finish: () => void } {
  let enter!: () => void
  let finish!: () => void
  const entered = new Promise<void>((resolve) => (enter = resolve))
  const done = new Promise<void>((resolve) => (finish = resolve))
  return {
    work: async () => {
      enter()
      await done
    },
    entered,
    finish,
  }
}

test('redis lock: a second holder waits while the first runs its work, and gets the lock once it is released', async (t) => {
  const prefix = newPrefix()
  const lockKey = `${prefix}lock:refresh%3Aalice`
  const raw = rawClient(t)
  const { lock: first } = openLock(t, { prefix, timeoutMs: 5_000, ttlMs: 10_000 })
  const { lock: second } = openLock(t, { prefix, timeoutMs: 5_000, ttlMs: 10_000 })

  const held = heldWork()
  const firstDone = first.withLock('refresh:alice', held.work)
  await held.entered
  const firstOwner = await raw.get(lockKey)
  t.truthy(firstOwner, 'the lock is a Redis key while held')
  let secondRan = false
  const secondDone = second.withLock('refresh:alice', async () => {
    secondRan = true
    return raw.get(lockKey)
  })
  await sleep(300)
  t.false(secondRan, 'the second holder ran while the first held the lock')

  held.finish()
  await firstDone
  const secondOwner = await secondDone
  t.true(secondRan)
  t.truthy(secondOwner)
  t.not(secondOwner, firstOwner, 'each holder sets its own owner token')
  t.is(await raw.exists(lockKey), 0, 'released after the work')
})

test('redis lock: a holder whose work outlasts the lock’s TTL keeps it by extending it', async (t) => {
  const prefix = newPrefix()
  const lockKey = `${prefix}lock:long`
  const raw = rawClient(t)
  // Long enough that a busy test machine does not stall the extensions past it.
  const ttlMs = 1_000
  const { lock: holder } = openLock(t, { prefix, timeoutMs: 5_000, ttlMs })
  const { lock: waiter } = openLock(t, { prefix, timeoutMs: ttlMs * 3, ttlMs })

  const held = heldWork()
  const holderDone = holder.withLock('long', held.work)
  await held.entered
  const owner = await raw.get(lockKey)
  // The waiter gives up after three TTLs: only the holder's extensions keep it out that long.
  const error = await t.throwsAsync(
    waiter.withLock('long', async () => 'stolen'),
    { instanceOf: StoreError },
  )
  t.is(error?.code, 'store_locked')
  t.regex(error?.message ?? '', /"long"/)
  t.is(await raw.get(lockKey), owner, 'still the same holder’s lock')
  const pttl = await raw.pttl(lockKey)
  t.true(pttl > 0 && pttl <= ttlMs, `the lock still expires by itself (PTTL ${pttl})`)

  held.finish()
  await holderDone
  t.is(await raw.exists(lockKey), 0)
})

test('redis lock: a lock its holder stopped extending expires, and the old holder’s release leaves its successor’s lock alone', async (t) => {
  const prefix = newPrefix()
  const lockKey = `${prefix}lock:refresh%3Abob`
  const raw = rawClient(t)
  const ttlMs = 300
  const { lock: stalled } = openLock(t, { prefix, timeoutMs: 5_000, ttlMs })
  const { lock: successor } = openLock(t, { prefix, timeoutMs: 10_000, ttlMs: 10_000 })

  const stalledWork = heldWork()
  const stalledDone = stalled.withLock('refresh:bob', stalledWork.work)
  await stalledWork.entered
  // As if the holder froze: it stops extending (its work goes on), so its lock expires after the TTL.
  stalled.close()
  const successorWork = heldWork()
  const successorDone = successor.withLock('refresh:bob', successorWork.work)
  await successorWork.entered
  const successorOwner = await raw.get(lockKey)
  t.truthy(successorOwner)

  stalledWork.finish()
  await stalledDone
  t.is(await raw.get(lockKey), successorOwner, 'the stalled holder released a lock that was no longer its own')

  successorWork.finish()
  await successorDone
  t.is(await raw.exists(lockKey), 0, 'its owner released it')
})

test('redis lock: compare-and-delete removes a key only while it holds the value the caller knows', async (t) => {
  const key = `${newPrefix()}lock:x`
  const raw = rawClient(t)
  const { connection } = openLock(t, { prefix: newPrefix(), timeoutMs: 1_000, ttlMs: 1_000 })
  await raw.set(key, 'theirs')
  t.false(await deleteIfHolds(connection, key, 'mine'))
  t.is(await raw.get(key), 'theirs')
  t.true(await deleteIfHolds(connection, key, 'theirs'))
  t.is(await raw.exists(key), 0)
  t.false(await deleteIfHolds(connection, key, 'theirs'), 'nothing left to delete')
})
