import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import test from 'ava'
import { FileTokenStore } from '../../src/store/file-store.js'
import { StoreError } from '../../src/store/types.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { tokenStoreContract } from './_contract.js'
import { newSecret, openFileStore, ring, storePath } from './_file-setup.js'
import { bareToken, described, fullToken } from './_tokens.js'

tokenStoreContract('file store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'c66-store-contract-'))
  const clock = new FakeClock()
  const store = new FileTokenStore({ path: join(dir, 'store', 'tokens.json'), keys: ring(newSecret()), clock })
  return {
    store,
    clock,
    dispose: async () => {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
})

interface RawStore {
  format: string
  version: number
  records: Record<string, { kid: string; iv: string; tag: string; ct: string; expiresAt?: number }>
}

const readRaw = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as RawStore
const modeOf = async (path: string) => (await stat(path)).mode & 0o777

test('file store: the directory it creates is 0700 and the store file 0600', async (t) => {
  const path = await storePath(t)
  const store = openFileStore(t, path, ring(newSecret()))
  await store.putToken('alice', fullToken())
  t.is(await modeOf(dirname(path)), 0o700)
  t.is(await modeOf(join(dirname(path), 'locks')), 0o700)
  t.is(await modeOf(path), 0o600)
  await store.putToken('bob', bareToken())
  t.is(await modeOf(path), 0o600, 'a rewrite keeps the mode')
})

test('file store: the file holds no token or one-time value in the clear, and every record names its key id', async (t) => {
  const path = await storePath(t)
  const keys = ring(newSecret())
  const store = openFileStore(t, path, keys)
  const canaries = { access: 'CANARY-ACCESS-7f3a9b', refresh: 'CANARY-REFRESH-51c2d8', once: 'CANARY-VERIFIER-e90d44' }
  await store.putToken('alice', fullToken({ accessToken: secretOf(canaries.access), refreshToken: secretOf(canaries.refresh) }))
  await store.putOnce('login', 'state-1', canaries.once, 60_000)
  const bytes = await readFile(path, 'utf8')
  for (const canary of Object.values(canaries)) t.false(bytes.includes(canary), `${canary} is in the file`)
  t.false(bytes.includes('public redeploy'), 'the scope is sealed too')
  const raw = await readRaw(path)
  t.is(raw.format, 'c66-proxy-store')
  t.is(raw.version, 1)
  t.deepEqual(Object.keys(raw.records).sort(), ['once:login:state-1', 'token:alice'])
  for (const record of Object.values(raw.records)) t.is(record.kid, keys.current.kid)
  t.is(typeof raw.records['once:login:state-1']?.expiresAt, 'number')
})

test('file store: a sealed record copied under another caller does not open', async (t) => {
  const path = await storePath(t)
  const store = openFileStore(t, path, ring(newSecret()))
  await store.putToken('alice', bareToken('access-alice'))
  await store.putToken('mallory', bareToken('access-mallory'))
  const raw = await readRaw(path)
  raw.records['token:mallory'] = raw.records['token:alice']!
  await writeFile(path, JSON.stringify(raw))
  const error = await t.throwsAsync(store.getToken('mallory'), { instanceOf: StoreError })
  t.is(error?.code, 'store_key_mismatch')
  t.true(error?.message.includes(path))
  t.is((await store.getToken('alice'))?.accessToken.reveal(), 'access-alice', 'the original record still opens')
})

test('file store: a store sealed with another secret is refused by check, reads and writes, naming the file but never the secret', async (t) => {
  const path = await storePath(t)
  const right = newSecret()
  await openFileStore(t, path, ring(right)).putToken('alice', fullToken())
  const before = await readFile(path)
  const wrong = newSecret()
  const store = openFileStore(t, path, ring(wrong))
  for (const attempt of [store.check(), store.getToken('alice'), store.putToken('bob', bareToken()), store.reseal()]) {
    const error = await t.throwsAsync(attempt, { instanceOf: StoreError })
    t.is(error?.code, 'store_key_mismatch')
    t.true(error?.message.includes(path), 'names the file')
    t.regex(error?.message ?? '', /C66_PROXY_SECRET.*C66_PROXY_PREVIOUS_SECRETS/)
    for (const secret of [right, wrong]) {
      for (const form of [secret.toString('hex'), secret.toString('base64'), secret.toString('base64url')]) {
        t.false(error?.message.includes(form), 'the message holds a secret')
      }
    }
  }
  t.deepEqual(await readFile(path), before, 'the store was not rewritten')
  t.is((await openFileStore(t, path, ring(right)).getToken('alice'))?.accessToken.reveal(), fullToken().accessToken.reveal())
})

const corruptions: Array<[string, (valid: string) => string, StoreError['code']]> = [
  ['truncated JSON', (valid) => valid.slice(0, Math.floor(valid.length / 2)), 'store_corrupt'],
  ['an empty file', () => '', 'store_corrupt'],
  ['a JSON file of another format', () => JSON.stringify({ format: 'something-else', version: 1, records: {} }), 'store_corrupt'],
  ['a record with a missing tag', (valid) => JSON.stringify(dropTag(JSON.parse(valid) as RawStore)), 'store_corrupt'],
  ['a store from a newer version', () => JSON.stringify({ format: 'c66-proxy-store', version: 2, records: {} }), 'store_unreadable'],
]

for (const [what, corrupt, code] of corruptions) {
  test(`file store: ${what} is reported with the file's name and left exactly as it was`, async (t) => {
    const path = await storePath(t)
    const keys = ring(newSecret())
    await openFileStore(t, path, keys).putToken('alice', fullToken())
    await writeFile(path, corrupt(await readFile(path, 'utf8')))
    const before = await readFile(path)
    const store = openFileStore(t, path, keys)
    for (const attempt of [
      store.check(),
      store.getToken('alice'),
      store.listCallers(),
      store.putToken('bob', bareToken()),
      store.deleteToken('alice'),
      store.takeOnce('login', 'x'),
    ]) {
      const error = await t.throwsAsync(attempt, { instanceOf: StoreError })
      t.is(error?.code, code)
      t.true(error?.message.includes(path), 'names the file')
    }
    t.deepEqual(await readFile(path), before, 'the file was not overwritten or reset')
  })
}

test('file store: key rotation opens old records with a previous secret, and reseal moves every record to the new key', async (t) => {
  const path = await storePath(t)
  const oldSecret = newSecret()
  const newer = newSecret()
  const first = openFileStore(t, path, ring(oldSecret))
  await first.putToken('alice', fullToken())
  await first.putOnce('login', 'state-1', 'verifier-1', 60_000)
  const oldKid = ring(oldSecret).current.kid

  const rotated = openFileStore(t, path, ring(newer, oldSecret))
  await rotated.check()
  t.deepEqual(described(await rotated.getToken('alice')), described(fullToken()))
  await rotated.putToken('bob', bareToken('access-bob'))
  const mixed = await readRaw(path)
  t.is(mixed.records['token:alice']?.kid, oldKid, 'untouched records keep their key until resealed')
  t.is(mixed.records['token:bob']?.kid, ring(newer).current.kid, 'new records are sealed with the current secret only')

  t.is(await rotated.reseal(), 3)
  for (const record of Object.values((await readRaw(path)).records)) t.is(record.kid, ring(newer).current.kid)

  const newOnly = openFileStore(t, path, ring(newer))
  await newOnly.check()
  t.deepEqual(described(await newOnly.getToken('alice')), described(fullToken()))
  t.is((await newOnly.getToken('bob'))?.accessToken.reveal(), 'access-bob')
  t.is(await newOnly.takeOnce('login', 'state-1'), 'verifier-1')
  const stale = await t.throwsAsync(openFileStore(t, path, ring(oldSecret)).check(), { instanceOf: StoreError })
  t.is(stale?.code, 'store_key_mismatch', 'the old secret alone no longer opens the store')
})

test('file store: a one-time value cannot be kept alive by editing its clear-text expiry', async (t) => {
  const path = await storePath(t)
  const clock = new FakeClock()
  const store = openFileStore(t, path, ring(newSecret()), { clock })
  await store.putOnce('login', 'state-1', 'verifier-1', 1_000)
  const raw = await readRaw(path)
  raw.records['once:login:state-1']!.expiresAt = clock.now() + 3_600_000
  await writeFile(path, JSON.stringify(raw))
  clock.advance(2_000)
  t.is(await store.takeOnce('login', 'state-1'), undefined)
})

test('file store: expired one-time values are pruned from the file by the next write', async (t) => {
  const path = await storePath(t)
  const clock = new FakeClock()
  const store = openFileStore(t, path, ring(newSecret()), { clock })
  await store.putOnce('login', 'old', 'verifier-old', 1_000)
  clock.advance(1_000)
  await store.putToken('alice', bareToken())
  t.deepEqual(Object.keys((await readRaw(path)).records), ['token:alice'])
})

test('file store: check of a store that does not exist yet passes and creates nothing', async (t) => {
  const path = await storePath(t)
  await openFileStore(t, path, ring(newSecret())).check()
  await t.throwsAsync(stat(dirname(path)), { code: 'ENOENT' })
})

test('file store: check tightens a store file whose mode was loosened', async (t) => {
  const path = await storePath(t)
  const store = openFileStore(t, path, ring(newSecret()))
  await store.putToken('alice', bareToken())
  await chmod(path, 0o644)
  await store.check()
  t.is(await modeOf(path), 0o600)
})

test('file store: a directory other users can write to is refused, with the fix in the message', async (t) => {
  const path = await storePath(t)
  await mkdir(dirname(path), { mode: 0o700 })
  await chmod(dirname(path), 0o777)
  const store = openFileStore(t, path, ring(newSecret()))
  const error = await t.throwsAsync(store.putToken('alice', bareToken()), { instanceOf: StoreError })
  t.is(error?.code, 'store_unavailable')
  t.true(error?.message.includes(`chmod 700 ${dirname(path)}`))
  await t.throwsAsync(stat(path), { code: 'ENOENT' }, 'nothing was written there')
  t.is((await t.throwsAsync(store.check(), { instanceOf: StoreError }))?.code, 'store_unavailable')
})

test('file store: an existing directory that others may only read is used as it is, not chmod-ed', async (t) => {
  const path = await storePath(t)
  await mkdir(dirname(path), { mode: 0o755 })
  await chmod(dirname(path), 0o755)
  const store = openFileStore(t, path, ring(newSecret()))
  await store.putToken('alice', bareToken('access-alice'))
  t.is(await modeOf(dirname(path)), 0o755)
  t.is(await modeOf(path), 0o600)
  t.is((await store.getToken('alice'))?.accessToken.reveal(), 'access-alice')
})

test('file store: two store objects on one file see each other’s writes', async (t) => {
  const path = await storePath(t)
  const keys = ring(newSecret())
  const a = openFileStore(t, path, keys)
  const b = openFileStore(t, path, keys)
  await Promise.all([a.putToken('alice', bareToken('access-alice')), b.putToken('bob', bareToken('access-bob'))])
  t.deepEqual(await a.listCallers(), ['alice', 'bob'])
  t.is((await b.getToken('alice'))?.accessToken.reveal(), 'access-alice')
})

test('file store: withLock gives up with store_locked, naming the lock, when another store object holds it too long', async (t) => {
  const path = await storePath(t)
  const keys = ring(newSecret())
  const holder = openFileStore(t, path, keys)
  const waiter = openFileStore(t, path, keys, { lockTimeoutMs: 100 })
  let release!: () => void
  let entered!: () => void
  const inside = new Promise<void>((resolve) => (entered = resolve))
  const held = holder.withLock('refresh:alice', async () => {
    entered()
    await new Promise<void>((resolve) => (release = resolve))
  })
  await inside
  const error = await t.throwsAsync(
    waiter.withLock('refresh:alice', async () => 'never'),
    { instanceOf: StoreError },
  )
  t.is(error?.code, 'store_locked')
  t.regex(error?.message ?? '', /refresh:alice/)
  release()
  await held
  t.is(await waiter.withLock('refresh:alice', async () => 'after'), 'after')
})

function secretOf(value: string) {
  return bareToken(value).accessToken
}

function dropTag(raw: RawStore): unknown {
  const records = Object.fromEntries(Object.entries(raw.records).map(([key, { tag: _tag, ...rest }]) => [key, rest]))
  return { ...raw, records }
}

test('file store: reading, taking and deleting in a store that does not exist yet create nothing on disk', async (t) => {
  const path = await storePath(t)
  const store = openFileStore(t, path, ring(newSecret()))
  t.is(await store.getToken('alice'), undefined)
  t.deepEqual(await store.listCallers(), [])
  t.is(await store.takeOnce('login', 'state-1'), undefined)
  t.false(await store.deleteToken('alice'))
  t.is(await store.reseal(), 0)
  await t.throwsAsync(stat(dirname(path)), { code: 'ENOENT' })
})
