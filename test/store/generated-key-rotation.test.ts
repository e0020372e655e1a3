import { readFile, readdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import test from 'ava'
import { FileTokenStore } from '../../src/store/file-store.js'
import { generateSecret, keyRingFromSecrets, parseSecret } from '../../src/store/keys.js'
import { hasInterruptedRotation, openFileTokenStore, rotateGeneratedKey } from '../../src/store/embedded.js'
import { StoreError } from '../../src/store/types.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { storePath } from './_file-setup.js'
import { bareToken, described, fullToken } from './_tokens.js'

const clock = new FakeClock()
const localSettings = (path: string) => ({ path, env: {}, allowGeneratedKey: true, clock })
const keyOf = async (file: string) => parseSecret(await readFile(file, 'utf8'), file)

test('rotating the generated key re-seals every record, and the old key alone no longer opens the store', async (t) => {
  const path = await storePath(t)
  const store = await openFileTokenStore(localSettings(path))
  await store.putToken('alice', fullToken())
  await store.putOnce('login', 'state-1', 'verifier-1', 60_000)
  await store.close()
  const keyFile = join(dirname(path), 'secret.key')
  const oldKey = await keyOf(keyFile)

  const { resealed, kid } = await rotateGeneratedKey(path, clock)
  t.is(resealed, 2)
  t.not(kid, keyRingFromSecrets(oldKey).current.kid)
  t.false((await readdir(dirname(path))).includes('secret.key.next'))

  const reopened = await openFileTokenStore(localSettings(path))
  t.teardown(() => reopened.close())
  t.deepEqual(described(await reopened.getToken('alice')), described(fullToken()))
  t.is(await reopened.takeOnce('login', 'state-1'), 'verifier-1')
  const withOldKey = new FileTokenStore({ path, keys: keyRingFromSecrets(oldKey), clock })
  t.is((await t.throwsAsync(withOldKey.check(), { instanceOf: StoreError }))?.code, 'store_key_mismatch')
})

test('a rotation interrupted after re-sealing still opens, and the next rotation completes it', async (t) => {
  const path = await storePath(t)
  const first = await openFileTokenStore(localSettings(path))
  await first.putToken('alice', bareToken('access-alice'))
  await first.close()
  const keyFile = join(dirname(path), 'secret.key')
  const oldKey = await keyOf(keyFile)

  // The crash: the new key saved and the store re-sealed with it, but secret.key never replaced.
  const next = generateSecret()
  await writeFile(join(dirname(path), 'secret.key.next'), `${next}\n`, { mode: 0o600 })
  const halfway = new FileTokenStore({ path, keys: keyRingFromSecrets(parseSecret(next, 'next'), [oldKey]), clock })
  await halfway.reseal()
  await halfway.close()
  t.true(await hasInterruptedRotation(path))

  const afterCrash = await openFileTokenStore(localSettings(path))
  t.is((await afterCrash.getToken('alice'))?.accessToken.reveal(), 'access-alice')
  await afterCrash.close()

  await rotateGeneratedKey(path, clock)
  t.false(await hasInterruptedRotation(path))
  const done = await openFileTokenStore(localSettings(path))
  t.teardown(() => done.close())
  t.is((await done.getToken('alice'))?.accessToken.reveal(), 'access-alice')
})

test('opening the embedded store stops on a damaged store file, naming it, and leaves it as it was', async (t) => {
  const path = await storePath(t)
  const store = await openFileTokenStore(localSettings(path))
  await store.putToken('alice', bareToken())
  await store.close()
  await writeFile(path, '{"format":"c66-proxy-store","version":1,"records":{')
  const before = await readFile(path)
  const error = await t.throwsAsync(openFileTokenStore(localSettings(path)), { instanceOf: StoreError })
  t.is(error?.code, 'store_corrupt')
  t.true(error?.message.includes(path))
  t.deepEqual(await readFile(path), before)
})
