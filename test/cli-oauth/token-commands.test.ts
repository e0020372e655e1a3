// `c66-proxy token set|import-cx|show`: a personal access token from standard input only (argv
// is visible to every user in ps and lands in shell history), the cx toolbelt's token copied in,
// and a description that never includes the token. The proxy then uses what was stored.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { fingerprintOf } from '../../src/secret.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { dataDir, readStoredToken } from '../helpers/cli-session.js'
import { send } from '../helpers/forwarding.js'
import { startSim } from '../helpers/oauth-sim.js'
import { startProxy } from '../helpers/proxy.js'
import { tempHome } from '../helpers/token-files.js'

const PERSONAL = 'personal-access-token-0f3a9c'

test('token set reads the token from standard input, stores it, and the proxy uses it', async (t) => {
  const sim = await startSim(t, { tokens: { [PERSONAL]: ALL_SCOPES } })
  const dir = await dataDir(t)
  const set = await runCli(['token', 'set', '--data-dir', dir], cleanEnv(), `  ${PERSONAL}\n`)
  t.is(set.code, 0, set.stderr)
  t.regex(set.stdout, new RegExp(`stored a personal access token \\(fingerprint ${fingerprintOf(PERSONAL)}\\)`))
  t.false(set.stdout.includes(PERSONAL) || set.stderr.includes(PERSONAL), 'the token is not echoed')

  const stored = await readStoredToken(dir)
  t.is(stored?.accessToken.reveal(), PERSONAL, 'surrounding whitespace trimmed')
  t.is(stored?.origin, 'personal')
  t.is(stored?.refreshToken, undefined)

  const show = await runCli(['token', 'show', '--json', '--data-dir', dir])
  t.is(show.code, 0)
  const shown = JSON.parse(show.stdout) as Record<string, unknown>
  t.is(shown['source'], 'store')
  t.is(shown['origin'], 'personal')
  t.is(shown['fingerprint'], fingerprintOf(PERSONAL))
  t.is(shown['refreshable'], false)
  t.false(show.stdout.includes(PERSONAL))

  const proxy = await startProxy(t, { upstream: sim.url, flags: { dataDir: dir } })
  t.is((await send(`${proxy.url}/stacks`)).status, 200)
  t.is(sim.requests.at(-1)?.token, PERSONAL)
})

test('token set refuses an empty standard input and creates nothing', async (t) => {
  const dir = await dataDir(t)
  for (const input of ['', '\n', '   \n\n']) {
    const result = await runCli(['token', 'set', '--data-dir', dir], cleanEnv(), input)
    t.is(result.code, 2, JSON.stringify(input))
    t.regex(result.stderr, /no token on standard input/)
  }
  t.false(existsSync(join(dir, 'store.json')))
  t.false(existsSync(join(dir, 'secret.key')), 'not even a key was generated')
})

test('token set refuses standard input holding more than one word', async (t) => {
  const dir = await dataDir(t)
  const result = await runCli(['token', 'set', '--data-dir', dir], cleanEnv(), 'one two\n')
  t.is(result.code, 2)
  t.regex(result.stderr, /more than one word/)
  t.false(existsSync(join(dir, 'store.json')))
})

test('token set refuses a token holding a control character, as every token source does', async (t) => {
  const dir = await dataDir(t)
  const result = await runCli(['token', 'set', '--data-dir', dir], cleanEnv(), 'tok\u0001en\n')
  t.is(result.code, 2)
  t.regex(result.stderr, /^c66-proxy: standard input holds a control character/)
  t.false(existsSync(join(dir, 'store.json')))
})

test('token set does not take the token from the command line', async (t) => {
  const dir = await dataDir(t)
  const result = await runCli(['token', 'set', '--data-dir', dir, PERSONAL], cleanEnv(), '')
  t.not(result.code, 0)
  t.regex(result.stderr, /too many arguments/)
  t.false(existsSync(join(dir, 'store.json')), 'nothing stored')
})

test("token import-cx copies the cx toolbelt's token from $HOME/.cloud66/cx.json", async (t) => {
  const sim = await startSim(t, { tokens: { 'cx-toolbelt-token-77': ALL_SCOPES } })
  const home = tempHome(t)
  home.writeCx('cx-toolbelt-token-77')
  const dir = await dataDir(t)
  const result = await runCli(['token', 'import-cx', '--data-dir', dir], cleanEnv({ HOME: home.home }))
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, /imported the cx token from .*\.cloud66\/cx\.json/)
  t.false(result.stdout.includes('cx-toolbelt-token-77'))

  const stored = await readStoredToken(dir)
  t.is(stored?.accessToken.reveal(), 'cx-toolbelt-token-77')
  t.is(stored?.origin, 'cx-import')
  const shown = JSON.parse((await runCli(['token', 'show', '--json', '--data-dir', dir])).stdout) as Record<string, unknown>
  t.is(shown['origin'], 'cx-import')
  t.is(shown['fingerprint'], fingerprintOf('cx-toolbelt-token-77'))

  // The stored copy is used even once cx's own file is gone.
  const proxy = await startProxy(t, { upstream: sim.url, flags: { dataDir: dir }, env: { HOME: join(home.home, 'elsewhere') } })
  t.is((await send(`${proxy.url}/stacks`)).status, 200)
  t.is(sim.requests.at(-1)?.token, 'cx-toolbelt-token-77')
})

test('token import-cx without a cx login says so and stores nothing', async (t) => {
  const home = tempHome(t)
  const dir = await dataDir(t)
  const result = await runCli(['token', 'import-cx', '--data-dir', dir], cleanEnv({ HOME: home.home }))
  t.is(result.code, 1)
  t.regex(result.stderr, /cx\.json \(ENOENT\); log in with `cx login` first/)
  t.false(existsSync(join(dir, 'store.json')))
})

test('token show with nothing stored says so and exits 1', async (t) => {
  const dir = await dataDir(t)
  const result = await runCli(['token', 'show', '--data-dir', dir])
  t.is(result.code, 1)
  t.regex(result.stdout, /no token/)
  t.false(existsSync(join(dir, 'store.json')), 'looking creates nothing')
})
