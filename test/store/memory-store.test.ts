import test from 'ava'
import { MemoryTokenStore } from '../../src/store/memory-store.js'
import { StoreError } from '../../src/store/types.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { tokenStoreContract } from './_contract.js'

tokenStoreContract('memory store', async () => {
  const clock = new FakeClock()
  const store = new MemoryTokenStore({ clock })
  return { store, clock, dispose: () => store.close() }
})

test('memory store: withLock gives up with store_locked when the lock stays held past the wait bound', async (t) => {
  const store = new MemoryTokenStore({ clock: new FakeClock(), lockTimeoutMs: 50 })
  t.teardown(() => store.close())
  let release!: () => void
  const held = store.withLock('refresh:alice', () => new Promise<void>((resolve) => (release = resolve)))
  const error = await t.throwsAsync(
    store.withLock('refresh:alice', async () => 'never'),
    { instanceOf: StoreError },
  )
  t.is(error?.code, 'store_locked')
  t.regex(error?.message ?? '', /refresh:alice/)
  release()
  await held
  t.is(await store.withLock('refresh:alice', async () => 'after'), 'after')
})
