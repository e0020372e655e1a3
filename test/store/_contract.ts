import test, { type ExecutionContext } from 'ava'
import { setTimeout as sleep } from 'node:timers/promises'
import { Secret } from '../../src/secret.js'
import { StoreError, type TokenStore } from '../../src/store/types.js'
import type { FakeClock } from './_fake-clock.js'
import { bareToken, described, fullToken } from './_tokens.js'

export { FakeClock } from './_fake-clock.js'

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

  it('a closed store refuses further use with a StoreError', async (t, { store }) => {
    await store.close()
    const error = await t.throwsAsync(store.getToken('alice'), { instanceOf: StoreError })
    t.is(error?.code, 'store_unavailable')
  })
}
