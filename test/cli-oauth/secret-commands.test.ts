// `c66-proxy secret generate` prints a new store secret; `secret rotate` re-seals every record:
// with local mode's generated key file it makes a new key, with C66_PROXY_SECRET it re-seals with
// the current secret (opening old records with C66_PROXY_PREVIOUS_SECRETS). Either way the store's
// key id changes and the token inside still works.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { fingerprintOf } from '../../src/secret.js'
import { deriveKey, parseSecret } from '../../src/store/keys.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { dataDir, readStoredToken, sealedKids } from '../helpers/cli-session.js'
import { send } from '../helpers/forwarding.js'
import { startSim } from '../helpers/oauth-sim.js'
import { startProxy } from '../helpers/proxy.js'

const TOKEN = 'token-sealed-before-rotation'

test('secret generate prints 32 random bytes in base64url, different each time', async (t) => {
  const first = await runCli(['secret', 'generate'])
  const second = await runCli(['secret', 'generate'])
  t.is(first.code, 0)
  t.regex(first.stdout, /^[A-Za-z0-9_-]{43}\n$/)
  t.is(Buffer.from(first.stdout.trim(), 'base64url').length, 32)
  t.not(first.stdout, second.stdout)
  t.notThrows(() => parseSecret(first.stdout, 'generated'), 'the store accepts it as C66_PROXY_SECRET')
})

test('secret rotate with the generated key file re-seals the store with a new key and the token still works', async (t) => {
  const sim = await startSim(t, { tokens: { [TOKEN]: ALL_SCOPES } })
  const dir = await dataDir(t)
  t.is((await runCli(['token', 'set', '--data-dir', dir], cleanEnv(), TOKEN)).code, 0)
  const keyBefore = await readFile(join(dir, 'secret.key'), 'utf8')
  const [kidBefore] = await sealedKids(dir)

  const rotate = await runCli(['secret', 'rotate', '--data-dir', dir])
  t.is(rotate.code, 0, rotate.stderr)
  const kidAfter = /kid ([0-9a-f]{8})/.exec(rotate.stdout)?.[1]
  t.regex(rotate.stdout, /re-sealed 1 record\(s\)/)
  t.truthy(kidAfter)
  t.not(kidAfter, kidBefore)
  t.deepEqual(await sealedKids(dir), [kidAfter], 'every record is sealed with the new key')
  const keyAfter = await readFile(join(dir, 'secret.key'), 'utf8')
  t.not(keyAfter, keyBefore, 'the key file holds the new key')
  t.is(deriveKey(parseSecret(keyAfter, 'secret.key')).kid, kidAfter ?? '', "the printed kid is the new key's")
  t.false(rotate.stdout.includes(keyAfter.trim()), 'the new key is not printed')

  const shown = JSON.parse((await runCli(['token', 'show', '--json', '--data-dir', dir])).stdout) as Record<string, unknown>
  t.is(shown['fingerprint'], fingerprintOf(TOKEN))
  const proxy = await startProxy(t, { upstream: sim.url, flags: { dataDir: dir } })
  t.is((await send(`${proxy.url}/stacks`)).status, 200)
  t.is(sim.requests.at(-1)?.token, TOKEN)
})

test('secret rotate with C66_PROXY_SECRET re-seals records sealed with a previous secret, which is then no longer needed', async (t) => {
  const sim = await startSim(t, { tokens: { [TOKEN]: ALL_SCOPES } })
  const dir = await dataDir(t)
  const oldSecret = (await runCli(['secret', 'generate'])).stdout.trim()
  const newSecret = (await runCli(['secret', 'generate'])).stdout.trim()
  t.is((await runCli(['token', 'set', '--data-dir', dir], cleanEnv({ C66_PROXY_SECRET: oldSecret }), TOKEN)).code, 0)
  t.deepEqual(await sealedKids(dir), [deriveKey(parseSecret(oldSecret, 'old')).kid])

  const rotate = await runCli(['secret', 'rotate', '--data-dir', dir], cleanEnv({ C66_PROXY_SECRET: newSecret, C66_PROXY_PREVIOUS_SECRETS: oldSecret }))
  t.is(rotate.code, 0, rotate.stderr)
  t.regex(rotate.stdout, /re-sealed 1 record\(s\) with the current C66_PROXY_SECRET/)
  t.deepEqual(await sealedKids(dir), [deriveKey(parseSecret(newSecret, 'new')).kid])

  // The new secret alone opens it now; the old one alone no longer does.
  t.is((await readStoredToken(dir, { C66_PROXY_SECRET: newSecret }))?.accessToken.reveal(), TOKEN)
  const withOld = await runCli(['token', 'show', '--data-dir', dir], cleanEnv({ C66_PROXY_SECRET: oldSecret }))
  t.is(withOld.code, 1)
  t.regex(withOld.stderr, new RegExp(`${join(dir, 'store.json').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}.*C66_PROXY_SECRET`))
  const proxy = await startProxy(t, { upstream: sim.url, flags: { dataDir: dir }, env: { C66_PROXY_SECRET: newSecret } })
  t.is((await send(`${proxy.url}/stacks`)).status, 200)
  t.is(sim.requests.at(-1)?.token, TOKEN)
})
