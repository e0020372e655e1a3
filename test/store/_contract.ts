import test, { type ExecutionContext } from 'ava'
import { setTimeout as sleep } from 'node:timers/promises'
import { Secret } from '../../src/secret.js'
import { StoreError, type StoreBus, type TokenStore } from '../../src/store/types.js'
import type { FakeClock } from '../helpers/fake-clock.js'
import { bareToken, described, fullToken } from './_tokens.js'

export interface StoreHarness {
  readonly store: TokenStore
  readonly clock: FakeClock
  dispose(): Promise<void>
}

/**
 * The behaviour every TokenStore must have. Each implementation's test file calls this once with a
 * way to open a fresh, empty store; the Redis store of the gateway reuses it unchanged.
 */
export function tokenStoreContract(label: string, open: () => Promise<StoreHarness>): void {
  const it = (title: string, body: (t: ExecutionContext, h: StoreHarness) => Promise<void>) =>
    test(`${label}: ${title}`, async (t) => {
      const harness = await open()
      t.teardown(() => harness.dispose())
      await body(t, harness)
    })

  it('getting a caller that was never stored gives undefined', async (t, { store }) => {
    t.is(await store.getToken('nobody'), undefined)
  })

  it('a stored token comes back with every field, secrets included', async (t, { store }) => {
    const token = fullToken()
    await store.putToken('alice', token)
    t.deepEqual(described(await store.getToken('alice')), described(token))
  })

  it('a token without refresh token, expiry, scope or loginRequired comes back without them', async (t, { store }) => {
    await store.putToken('bob', bareToken())
    const back = await store.getToken('bob')
    t.deepEqual(described(back), described(bareToken()))
    t.is(back?.refreshToken, undefined)
    t.false(back !== undefined && 'loginRequired' in back)
  })

  it('loginRequired false is kept as false', async (t, { store }) => {
    await store.putToken('carol', fullToken({ loginRequired: false }))
    t.is((await store.getToken('carol'))?.loginRequired, false)
  })

  it('putting a token again replaces the previous one', async (t, { store }) => {
    await store.putToken('alice', fullToken())
    await store.putToken('alice', bareToken('access-second'))
    t.deepEqual(described(await store.getToken('alice')), described(bareToken('access-second')))
  })

  it('each caller has its own token', async (t, { store }) => {
    await store.putToken('alice', bareToken('access-alice'))
    await store.putToken('bob', bareToken('access-bob'))
    t.is((await store.getToken('alice'))?.accessToken.reveal(), 'access-alice')
    t.is((await store.getToken('bob'))?.accessToken.reveal(), 'access-bob')
  })

  it('deleting reports whether there was a token, and the token is gone afterwards', async (t, { store }) => {
    await store.putToken('alice', fullToken())
    t.true(await store.deleteToken('alice'))
    t.is(await store.getToken('alice'), undefined)
    t.false(await store.deleteToken('alice'))
    t.false(await store.deleteToken('never-stored'))
  })

  it('listCallers names every caller with a token, including awkward names, and no one-time values', async (t, { store }) => {
    const callers = ['alice', 'a:b/c d', 'zoë@example.com', '__proto__', 'token:x']
    for (const caller of callers) await store.putToken(caller, bareToken(`access-${caller}`))
    await store.putToken('gone', bareToken())
    await store.deleteToken('gone')
    await store.putOnce('login', 'state-1', 'verifier', 60_000)
    t.deepEqual((await store.listCallers()).sort(), [...callers].sort())
    for (const caller of callers) t.is((await store.getToken(caller))?.accessToken.reveal(), `access-${caller}`)
  })

  it('listCallers of an empty store is an empty list', async (t, { store }) => {
    t.deepEqual(await store.listCallers(), [])
  })

  it('a one-time value is returned by the first take only', async (t, { store }) => {
    await store.putOnce('login', 'state-1', 'verifier-1', 60_000)
    t.is(await store.takeOnce('login', 'state-1'), 'verifier-1')
    t.is(await store.takeOnce('login', 'state-1'), undefined)
  })

  it('taking a one-time value that was never put gives undefined', async (t, { store }) => {
    t.is(await store.takeOnce('login', 'unknown'), undefined)
  })

  it('a one-time value is still there just before its expiry', async (t, { store, clock }) => {
    await store.putOnce('login', 'state-1', 'verifier-1', 10_000)
    clock.advance(9_999)
    t.is(await store.takeOnce('login', 'state-1'), 'verifier-1')
  })

  it('a one-time value taken after its expiry is absent', async (t, { store, clock }) => {
    await store.putOnce('login', 'state-1', 'verifier-1', 10_000)
    clock.advance(10_000)
    t.is(await store.takeOnce('login', 'state-1'), undefined)
  })

  it('an expired one-time value stays absent after other writes prune the store', async (t, { store, clock }) => {
    await store.putOnce('login', 'old', 'verifier-old', 1_000)
    clock.advance(5_000)
    await store.putOnce('login', 'new', 'verifier-new', 1_000)
    await store.putToken('alice', bareToken())
    t.is(await store.takeOnce('login', 'old'), undefined)
    t.is(await store.takeOnce('login', 'new'), 'verifier-new')
  })

  it('one-time values with the same id in different namespaces are separate', async (t, { store }) => {
    await store.putOnce('login', 'x', 'for-login', 60_000)
    await store.putOnce('csrf', 'x', 'for-csrf', 60_000)
    await store.putOnce('login:x', '', 'colon-namespace', 60_000)
    t.is(await store.takeOnce('login', 'x'), 'for-login')
    t.is(await store.takeOnce('csrf', 'x'), 'for-csrf')
    t.is(await store.takeOnce('login:x', ''), 'colon-namespace')
  })

  it('a one-time value does not disturb a token of a caller with the same name', async (t, { store }) => {
    await store.putToken('x', bareToken('access-x'))
    await store.putOnce('token', 'x', 'not-a-token', 60_000)
    t.is(await store.takeOnce('token', 'x'), 'not-a-token')
    t.is((await store.getToken('x'))?.accessToken.reveal(), 'access-x')
  })

  it('withLock runs concurrent work under one name strictly one after another', async (t, { store }) => {
    const events: string[] = []
    const results = await Promise.all(
      [0, 1, 2, 3, 4].map((n) =>
        store.withLock('refresh:alice', async () => {
          events.push(`enter ${n}`)
          // Give the others every chance to interleave, were the lock not held.
          await sleep(5)
          await store.putToken('alice', bareToken(`access-${n}`))
          events.push(`leave ${n}`)
          return n
        }),
      ),
    )
    t.deepEqual(results, [0, 1, 2, 3, 4])
    t.is(events.length, 10)
    for (let i = 0; i < events.length; i += 2) {
      const n = events[i]?.split(' ')[1]
      t.deepEqual([events[i], events[i + 1]], [`enter ${n}`, `leave ${n}`])
    }
  })

  it('withLock releases the lock when the work throws, and passes the error on', async (t, { store }) => {
    const failure = new Error('refresh failed')
    const error = await t.throwsAsync(store.withLock('refresh:alice', async () => Promise.reject(failure)))
    t.is(error, failure)
    t.is(await store.withLock('refresh:alice', async () => 'ran'), 'ran')
  })

  it('withLock under different names does not block', async (t, { store }) => {
    const inner = await store.withLock('refresh:alice', () => store.withLock('refresh:bob', async () => 'both held'))
    t.is(inner, 'both held')
  })

  it('reseal keeps every token and one-time value readable', async (t, { store }) => {
    await store.putToken('alice', fullToken())
    await store.putToken('bob', bareToken('access-bob'))
    await store.putOnce('login', 'state-1', 'verifier-1', 60_000)
    t.is(await store.reseal(), 3)
    t.deepEqual(described(await store.getToken('alice')), described(fullToken()))
    t.deepEqual(described(await store.getToken('bob')), described(bareToken('access-bob')))
    t.is(await store.takeOnce('login', 'state-1'), 'verifier-1')
  })

  it('a stored token is not changed by what the caller does to its object afterwards', async (t, { store }) => {
    const token = { ...fullToken() } as { -readonly [K in keyof ReturnType<typeof fullToken>]: ReturnType<typeof fullToken>[K] }
    await store.putToken('alice', token)
    token.accessToken = new Secret('mutated')
    token.scope = 'admin'
    t.is((await store.getToken('alice'))?.accessToken.reveal(), fullToken().accessToken.reveal())
    t.is((await store.getToken('alice'))?.scope, fullToken().scope)
  })

  it('a document comes back as it was put, and only under its own namespace and id', async (t, { store }) => {
    const member = JSON.stringify({ id: 'cloud66:42', name: 'Zoë', admin: true })
    await store.putDoc('members', 'cloud66:42', member)
    t.is(await store.getDoc('members', 'cloud66:42'), member)
    t.is(await store.getDoc('members', 'cloud66:43'), undefined)
    t.is(await store.getDoc('keys', 'cloud66:42'), undefined)
    t.is(await store.getToken('cloud66:42'), undefined, 'a document is not a token')
    t.is(await store.takeOnce('members', 'cloud66:42'), undefined, 'nor a one-time value')
    t.is(await store.getDoc('members', 'cloud66:42'), member, 'and taking a one-time value of the same name left it alone')
  })

  it('putting a document again replaces it, and a replacement without expiry does not expire', async (t, { store, clock }) => {
    await store.putDoc('sessions', 's1', 'first', 1_000)
    await store.putDoc('sessions', 's1', 'second')
    clock.advance(5_000)
    t.is(await store.getDoc('sessions', 's1'), 'second')
    await store.putDoc('sessions', 's1', 'third', 1_000)
    t.is(await store.getDoc('sessions', 's1'), 'third')
    clock.advance(1_000)
    t.is(await store.getDoc('sessions', 's1'), undefined, 'a replacement with an expiry expires')
  })

  it('deleting a document reports whether there was one, and it is gone afterwards', async (t, { store }) => {
    await store.putDoc('keys', 'k1', 'key one')
    await store.putDoc('keys', 'k2', 'key two')
    t.true(await store.deleteDoc('keys', 'k1'))
    t.is(await store.getDoc('keys', 'k1'), undefined)
    t.false(await store.deleteDoc('keys', 'k1'))
    t.false(await store.deleteDoc('keys', 'never-stored'))
    t.false(await store.deleteDoc('members', 'k2'), 'another namespace has no such document')
    t.is(await store.getDoc('keys', 'k2'), 'key two', 'the other document stays')
  })

  it('listDocs lists every document of one namespace, awkward ids included, and nothing from other namespaces', async (t, { store }) => {
    const ids = ['alice', 'a:b/c d', 'zoë@example.com', '__proto__', 'doc:keys:x', '*', '']
    for (const id of ids) await store.putDoc('keys', id, `value of ${id}`)
    // Neighbours whose names a careless prefix match would pick up.
    await store.putDoc('keys:x', 'alice', 'colon namespace')
    await store.putDoc('key', 'alice', 'shorter namespace')
    await store.putDoc('keysx', 'alice', 'longer namespace')
    await store.putDoc('keys', 'gone', 'deleted')
    await store.deleteDoc('keys', 'gone')
    await store.putToken('keys', bareToken())
    await store.putOnce('keys', 'alice', 'a one-time value', 60_000)
    const listed = (await store.listDocs('keys')).sort((a, b) => a.id.localeCompare(b.id))
    t.deepEqual(
      listed,
      ids.map((id) => ({ id, value: `value of ${id}` })).sort((a, b) => a.id.localeCompare(b.id)),
    )
    t.deepEqual(await store.listDocs('keys:x'), [{ id: 'alice', value: 'colon namespace' }])
    t.deepEqual(await store.listDocs('key'), [{ id: 'alice', value: 'shorter namespace' }])
  })

  it('listDocs of a namespace without documents is an empty list', async (t, { store }) => {
    await store.putDoc('members', 'alice', 'x')
    t.deepEqual(await store.listDocs('keys'), [])
  })

  it('an expiring document is there until just before its expiry, then gone from get, list and delete', async (t, { store, clock }) => {
    await store.putDoc('sessions', 'short', 'session-value', 10_000)
    await store.putDoc('sessions', 'forever', 'kept')
    clock.advance(9_999)
    t.is(await store.getDoc('sessions', 'short'), 'session-value')
    t.deepEqual((await store.listDocs('sessions')).map((d) => d.id).sort(), ['forever', 'short'])
    clock.advance(1)
    t.is(await store.getDoc('sessions', 'short'), undefined)
    t.deepEqual(await store.listDocs('sessions'), [{ id: 'forever', value: 'kept' }])
    t.false(await store.deleteDoc('sessions', 'short'), 'an expired document is nothing to delete')
    await store.putToken('alice', bareToken())
    t.is(await store.getDoc('sessions', 'short'), undefined, 'and other writes do not bring it back')
  })

  it('reseal keeps documents readable, and an expiring one keeps its expiry', async (t, { store, clock }) => {
    await store.putDoc('members', 'alice', 'member alice')
    await store.putDoc('sessions', 's1', 'session one', 60_000)
    await store.putToken('alice', bareToken('access-alice'))
    t.is(await store.reseal(), 3)
    t.is(await store.getDoc('members', 'alice'), 'member alice')
    t.is(await store.getDoc('sessions', 's1'), 'session one')
    t.is((await store.getToken('alice'))?.accessToken.reveal(), 'access-alice')
    clock.advance(60_000)
    t.is(await store.getDoc('sessions', 's1'), undefined)
    t.deepEqual(await store.listDocs('members'), [{ id: 'alice', value: 'member alice' }])
  })

  it('a subscriber receives what is published on its channel, in order and intact, and nothing from other channels', async (t, { store }) => {
    // A store already in use (a Redis store's connection is up), so a publish right after subscribing is no slower than the subscription.
    await store.check()
    const keys = collect(store.bus, 'keys')
    const members = collect(store.bus, 'members')
    t.teardown(() => (keys.stop(), members.stop()))
    const awkward = 'revoked {"id":"k/1"} zoë\nline two'
    await store.bus.publish('members', 'removed alice')
    await store.bus.publish('keys:other', 'not for keys')
    await store.bus.publish('keys', 'revoked k1')
    await store.bus.publish('keys', awkward)
    await keys.received(2)
    await members.received(1)
    // Delivery is in publish order: a message from another channel would have arrived before these.
    t.deepEqual(keys.messages, ['revoked k1', awkward])
    t.deepEqual(members.messages, ['removed alice'])
  })

  it('every subscriber of a channel hears a message, and one that unsubscribed hears nothing more', async (t, { store }) => {
    await store.check()
    const first = collect(store.bus, 'keys')
    const second = collect(store.bus, 'keys')
    t.teardown(() => (first.stop(), second.stop()))
    await store.bus.publish('keys', 'one')
    await Promise.all([first.received(1), second.received(1)])
    first.stop()
    first.stop()
    await store.bus.publish('keys', 'two')
    await store.bus.publish('keys', 'three')
    await second.received(3)
    // Both subscriptions are served by the same delivery: had the first still been subscribed, it would have heard them by now.
    t.deepEqual(first.messages, ['one'])
    t.deepEqual(second.messages, ['one', 'two', 'three'])
  })

  it('a closed store refuses further use with a StoreError', async (t, { store }) => {
    await store.close()
    const error = await t.throwsAsync(store.getToken('alice'), { instanceOf: StoreError })
    t.is(error?.code, 'store_unavailable')
  })

  it('the bus of a closed store refuses to publish or subscribe with a StoreError', async (t, { store }) => {
    await store.close()
    const published = await t.throwsAsync(store.bus.publish('keys', 'after close'), { instanceOf: StoreError })
    t.is(published?.code, 'store_unavailable')
    const subscribed = t.throws(() => store.bus.subscribe('keys', () => undefined), { instanceOf: StoreError })
    t.is(subscribed?.code, 'store_unavailable')
  })
}

/** A subscription that records what it hears; `received(n)` waits (event-driven, with a safety bound) for n messages. */
export interface Collector {
  readonly messages: string[]
  received(count: number, safetyMs?: number): Promise<void>
  stop(): void
}

export function collect(bus: StoreBus, channel: string): Collector {
  const messages: string[] = []
  const waiters = new Set<() => void>()
  const stop = bus.subscribe(channel, (message) => {
    messages.push(message)
    for (const waiter of [...waiters]) waiter()
  })
  return {
    messages,
    stop,
    received: (count, safetyMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`gave up waiting for ${count} message(s) on "${channel}"; got ${JSON.stringify(messages)}`))
        }, safetyMs)
        const check = () => {
          if (messages.length < count) return
          clearTimeout(timer)
          waiters.delete(check)
          resolve()
        }
        waiters.add(check)
        check()
      }),
  }
}
