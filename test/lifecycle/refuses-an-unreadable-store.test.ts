// A token store that cannot be read or decrypted stops the proxy (and every CLI command) with a
// message naming the file and the likely cause, and is never overwritten or reset: the tokens in
// it may be recoverable with the right secret or a backup.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { Secret } from '../../src/secret.js'
import { generateSecret } from '../../src/store/keys.js'
import { StoreError } from '../../src/store/types.js'
import { cleanEnv, runCli, startCli } from '../helpers/cli.js'
import { dataDir, seedToken } from '../helpers/cli-session.js'
import { within } from '../helpers/forwarding.js'
import { startSim } from '../helpers/oauth-sim.js'
import { startProxy } from '../helpers/proxy.js'

const TOKEN = {
  accessToken: new Secret('token-worth-keeping'),
  refreshToken: new Secret('refresh-worth-keeping'),
  tokenType: 'Bearer',
  scope: 'public',
  expiresAt: undefined,
  obtainedAt: Date.UTC(2026, 0, 1),
  origin: 'oauth',
} as const

const damaged: Array<[string, string, RegExp]> = [
  ['garbage', 'this is not a store\n', /not a valid c66-proxy store \(the file is not complete JSON\)/],
  ['a torn write', '{"format":"c66-proxy-store","version":1,"records":{"token:local":{"kid":"0011', /the file is not complete JSON/],
  ['an empty file', '', /the file is empty/],
  ["another program's JSON", '{"tokens":["x"]}\n', /"format" is not "c66-proxy-store"/],
]

for (const [what, text, cause] of damaged) {
  test(`a store holding ${what} stops the proxy with a message naming the file, and the file is left as it was`, async (t) => {
    const sim = await startSim(t)
    const dir = await dataDir(t)
    const file = join(dir, 'store.json')
    await writeFile(file, text, { mode: 0o600 })

    const error = await t.throwsAsync(startProxy(t, { upstream: sim.url, flags: { dataDir: dir } }), { instanceOf: StoreError })
    t.true(error?.message.includes(file), error?.message)
    t.regex(error?.message ?? '', cause)
    t.is(await readFile(file, 'utf8'), text, 'not overwritten, not reset')
  })
}

test('a store sealed with another C66_PROXY_SECRET stops the proxy, names the file and the cause, and is left as it was', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const right = generateSecret()
  await seedToken(dir, TOKEN, { C66_PROXY_SECRET: right })
  const file = join(dir, 'store.json')
  const before = await readFile(file, 'utf8')

  const error = await t.throwsAsync(startProxy(t, { upstream: sim.url, flags: { dataDir: dir }, env: { C66_PROXY_SECRET: generateSecret() } }), {
    instanceOf: StoreError,
  })
  t.is((error as StoreError | undefined)?.code, 'store_key_mismatch')
  t.true(error?.message.includes(file))
  t.regex(error?.message ?? '', /C66_PROXY_SECRET/)
  t.false(error?.message.includes(right), 'the message never holds a secret')
  t.is(await readFile(file, 'utf8'), before)

  // With the right secret everything is still there.
  const proxy = await startProxy(t, { upstream: sim.url, flags: { dataDir: dir }, env: { C66_PROXY_SECRET: right } })
  t.is((await proxy.app.store.getToken('local'))?.accessToken.reveal(), 'token-worth-keeping')
})

test('a store whose generated key file was replaced stops the proxy and is left as it was', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  await seedToken(dir, TOKEN)
  const file = join(dir, 'store.json')
  const before = await readFile(file, 'utf8')
  await writeFile(join(dir, 'secret.key'), `${generateSecret()}\n`, { mode: 0o600 })

  const error = await t.throwsAsync(startProxy(t, { upstream: sim.url, flags: { dataDir: dir } }), { instanceOf: StoreError })
  t.is((error as StoreError | undefined)?.code, 'store_key_mismatch')
  t.true(error?.message.includes(file))
  t.is(await readFile(file, 'utf8'), before)
})

test('`c66-proxy serve` with an unreadable store exits non-zero naming the file, and leaves it as it was', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const file = join(dir, 'store.json')
  await writeFile(file, 'not a store', { mode: 0o600 })
  const cli = startCli(t, ['serve', '--listen', '127.0.0.1:0', '--upstream', sim.url.origin, '--data-dir', dir])
  const { code } = await within(cli.exited, 'serve to exit')
  t.is(code, 1)
  t.true(cli.stderr().includes(file), cli.stderr())
  t.regex(cli.stderr(), /not a valid c66-proxy store/)
  t.notRegex(cli.stderr(), /listening on/)
  t.is(await readFile(file, 'utf8'), 'not a store')
})

test('CLI commands that would write refuse an unreadable store instead of replacing it', async (t) => {
  const sim = await startSim(t)
  const dir = await dataDir(t)
  const right = generateSecret()
  await seedToken(dir, TOKEN, { C66_PROXY_SECRET: right })
  const file = join(dir, 'store.json')
  const before = await readFile(file, 'utf8')
  const wrong = cleanEnv({ C66_PROXY_SECRET: generateSecret(), C66_CLIENT_SECRET: 'sim-secret' })

  const set = await runCli(['token', 'set', '--data-dir', dir], wrong, 'a-new-personal-token\n')
  t.is(set.code, 1)
  t.true(set.stderr.includes(file), set.stderr)
  const logout = await runCli(['logout', '--data-dir', dir, '--upstream', sim.url.origin, '--client-id', 'sim-client'], wrong)
  t.is(logout.code, 1)
  t.true(logout.stderr.includes(file), logout.stderr)
  t.is(sim.oauthCalls.revoke, 0, 'nothing was revoked either')
  const rotate = await runCli(['secret', 'rotate', '--data-dir', dir], wrong)
  t.is(rotate.code, 1)
  t.true(rotate.stderr.includes(file), rotate.stderr)

  t.is(await readFile(file, 'utf8'), before, 'the store survived all three')
})
