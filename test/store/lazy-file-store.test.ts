import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import test from 'ava'
import { LazyFileStore } from '../../src/store/lazy-file-store.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { collect, tokenStoreContract } from './_contract.js'
import { newSecret, openFileStore, ring, storePath } from './_file-setup.js'

tokenStoreContract('lazy file store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'c66-lazy-contract-'))
  const clock = new FakeClock()
  const store = new LazyFileStore({ path: join(dir, 'store', 'store.json'), env: {}, allowGeneratedKey: true, clock })
  return {
    store,
    clock,
    dispose: async () => {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
})

function lazy(t: Parameters<typeof storePath>[0], path: string, secret = newSecret()): LazyFileStore {
  const store = new LazyFileStore({ path, env: { C66_PROXY_SECRET: secret.toString('hex') }, allowGeneratedKey: false, clock: new FakeClock() })
  t.teardown(() => store.close())
  return store
}

test('lazy file store: reading documents of a store that does not exist gives nothing and creates nothing', async (t) => {
  const path = await storePath(t)
  const store = lazy(t, path)
  t.is(await store.getDoc('members', 'alice'), undefined)
  t.deepEqual(await store.listDocs('members'), [])
  t.false(await store.deleteDoc('members', 'alice'))
  await t.throwsAsync(stat(dirname(path)), { code: 'ENOENT' })
})

test('lazy file store: putting a document creates the store, sealed with the configured secret', async (t) => {
  const path = await storePath(t)
  const secret = newSecret()
  await lazy(t, path, secret).putDoc('members', 'alice', 'member alice')
  t.is((await stat(path)).mode & 0o777, 0o600)
  t.is(await openFileStore(t, path, ring(secret)).getDoc('members', 'alice'), 'member alice')
})

test('lazy file store: a subscription made before the store exists hears what is published, and the file is still not created', async (t) => {
  const path = await storePath(t)
  const store = lazy(t, path)
  const heard = collect(store.bus, 'keys')
  await store.bus.publish('keys', 'revoked k1')
  await heard.received(1)
  t.deepEqual(heard.messages, ['revoked k1'])
  await t.throwsAsync(stat(dirname(path)), { code: 'ENOENT' })
})

test('file store: store objects of one process on the same file hear each other’s messages, and other files’ stores do not', async (t) => {
  const path = await storePath(t)
  const secret = newSecret()
  const server = lazy(t, path, secret)
  const cli = openFileStore(t, path, ring(secret))
  const elsewhere = openFileStore(t, await storePath(t), ring(secret))
  const onServer = collect(server.bus, 'keys')
  const onElsewhere = collect(elsewhere.bus, 'keys')
  t.teardown(() => (onServer.stop(), onElsewhere.stop()))
  await elsewhere.bus.publish('keys', 'revoked on another store')
  await cli.bus.publish('keys', 'revoked k1')
  await onServer.received(1)
  await onElsewhere.received(1)
  t.deepEqual(onServer.messages, ['revoked k1'])
  t.deepEqual(onElsewhere.messages, ['revoked on another store'])
})

test('file store: closing a store ends its subscriptions', async (t) => {
  const path = await storePath(t)
  const secret = newSecret()
  const closing = openFileStore(t, path, ring(secret))
  const staying = openFileStore(t, path, ring(secret))
  const onClosing = collect(closing.bus, 'keys')
  const onStaying = collect(staying.bus, 'keys')
  t.teardown(() => onStaying.stop())
  await closing.close()
  await staying.bus.publish('keys', 'after close')
  await onStaying.received(1)
  t.deepEqual(onClosing.messages, [])
})
