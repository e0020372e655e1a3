// One order of token sources, printed the same way everywhere: the store (a login, `token set`,
// `token import-cx`) comes first, then CLOUD66_ACCESS_TOKEN, CLOUD66_TOKEN, --token-file and the
// cx toolbelt's file. `status`, `status --json`, `token show --json`, the status page, the README
// and the token the proxy really sends must all tell the same story.
import { readFile } from 'node:fs/promises'
import test from 'ava'
import { fingerprintOf } from '../../src/secret.js'
import { ALL_SCOPES } from '../../src/simulator/index.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { dataDir } from '../helpers/cli-session.js'
import { send, startSim } from '../helpers/forwarding.js'
import { startProxy } from '../helpers/proxy.js'
import { tempHome } from '../helpers/token-files.js'

interface TokenJson {
  source: string | null
  location: string | null
  fingerprint: string | null
  origin: string | null
  scope: string | null
  obtained_at: string | null
  expires_at: string | null
  refreshable: boolean
}
interface StatusJson {
  token: TokenJson | null
  login_required: boolean
  sources: Array<{ source: string; state: string; location: string }>
}

const STORED = 'stored-personal-token-1'
const ENV = 'environment-token-2'

async function storeToken(dir: string): Promise<void> {
  const set = await runCli(['token', 'set', '--data-dir', dir], cleanEnv(), STORED)
  if (set.code !== 0) throw new Error(set.stderr)
}

test('with a stored token and CLOUD66_ACCESS_TOKEN, every output says the store is used and the variable is shadowed, and the store is what is sent', async (t) => {
  const home = tempHome(t)
  const dir = await dataDir(t)
  await storeToken(dir)
  const env = cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: ENV })
  const args = ['--data-dir', dir, '--listen', '127.0.0.1:1']

  const text = await runCli(['status', ...args], env)
  t.is(text.code, 0, text.stderr)
  t.regex(text.stdout, /^ {2}store +used /m)
  t.regex(text.stdout, /^ {2}CLOUD66_ACCESS_TOKEN +shadowed /m)
  t.is(text.stdout.match(/ used /g)?.length, 1, `exactly one source is used:\n${text.stdout}`)
  t.regex(text.stdout, new RegExp(`^token: +store \\(.*\\), fingerprint ${fingerprintOf(STORED)}`, 'm'))

  const status = JSON.parse((await runCli(['status', '--json', ...args], env)).stdout) as StatusJson
  t.deepEqual(
    status.sources.map((s) => [s.source, s.state]),
    [
      ['store', 'used'],
      ['CLOUD66_ACCESS_TOKEN', 'shadowed'],
      ['CLOUD66_TOKEN', 'absent'],
    ],
  )
  t.like(status.token, { source: 'store', fingerprint: fingerprintOf(STORED), origin: 'personal', expires_at: null, refreshable: false })

  const show = JSON.parse((await runCli(['token', 'show', '--json', ...args], env)).stdout) as TokenJson & { login_required: boolean }
  const { login_required: loginRequired, ...shown } = show
  t.deepEqual(shown, status.token, 'token show --json describes the token with the same fields and values as status --json')
  t.false(loginRequired)

  // The order the outputs print is the order the proxy follows.
  const sim = await startSim(t, { tokens: { [STORED]: ALL_SCOPES, [ENV]: ALL_SCOPES } })
  const proxy = await startProxy(t, { upstream: sim.url, flags: { dataDir: dir }, env: { HOME: home.home, CLOUD66_ACCESS_TOKEN: ENV } })
  t.is((await send(`${proxy.url}/stacks.json`)).status, 200)
  t.is(sim.requests.at(-1)?.token, STORED)
  const page = (await send(`${proxy.url}/-/`)).body.toString('utf8')
  const rows = [...page.matchAll(/<tr><td>([^<]+)<\/td><td><code>[^<]*<\/code><\/td><td>([^<:]+)/g)].map((m) => [m[1], m[2]])
  t.deepEqual(
    rows.slice(0, 2),
    [
      ['store', 'used'],
      ['CLOUD66_ACCESS_TOKEN', 'shadowed'],
    ],
    'the status page lists the same rows',
  )
})

test('an environment token and a stored token without expiry both have expires_at null, in status --json and token show --json', async (t) => {
  const home = tempHome(t)
  const envOnly = cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: ENV })
  const emptyDir = await dataDir(t)
  const fromEnv = JSON.parse((await runCli(['status', '--json', '--data-dir', emptyDir, '--listen', '127.0.0.1:1'], envOnly)).stdout) as StatusJson
  t.like(fromEnv.token, { source: 'CLOUD66_ACCESS_TOKEN', expires_at: null, obtained_at: null, origin: null, refreshable: false })
  t.deepEqual(
    fromEnv.sources.map((s) => [s.source, s.state]),
    [
      ['store', 'absent'],
      ['CLOUD66_ACCESS_TOKEN', 'used'],
      ['CLOUD66_TOKEN', 'absent'],
    ],
  )
  const showEnv = JSON.parse((await runCli(['token', 'show', '--json', '--data-dir', emptyDir], envOnly)).stdout) as TokenJson
  t.is(showEnv.expires_at, null)
  t.is(showEnv.source, 'CLOUD66_ACCESS_TOKEN')

  const dir = await dataDir(t)
  await storeToken(dir)
  const stored = JSON.parse((await runCli(['token', 'show', '--json', '--data-dir', dir], cleanEnv({ HOME: home.home }))).stdout) as TokenJson
  t.is(stored.expires_at, null)
  t.regex(stored.obtained_at ?? '', /^\d{4}-\d\d-\d\dT/)
  // Text output for people still says "never".
  const human = await runCli(['token', 'show', '--data-dir', dir], cleanEnv({ HOME: home.home }))
  t.regex(human.stdout, /^expires_at +never$/m)
})

test("the README's table of token sources lists them in the order status prints them", async (t) => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Where the token comes from'), readme.indexOf('```console', readme.indexOf('## Where the token comes from')))
  const documented = [...section.matchAll(/^\| (\d+) \| ([^|]+)\|/gm)].map((m) => {
    const cell = m[2] ?? ''
    if (/token store/.test(cell)) return 'store'
    if (/--token-file/.test(cell)) return 'token-file'
    if (/cx toolbelt/.test(cell)) return 'cx'
    return /`([A-Z0-9_]+)`/.exec(cell)?.[1] ?? cell.trim()
  })
  const home = tempHome(t)
  const tokenFile = `${home.scratch}/token`
  const status = JSON.parse(
    (await runCli(['status', '--json', '--data-dir', await dataDir(t), '--token-file', tokenFile, '--listen', '127.0.0.1:1'], cleanEnv({ HOME: home.home })))
      .stdout,
  ) as StatusJson
  t.deepEqual(
    documented,
    status.sources.map((s) => s.source),
  )
  t.deepEqual(documented, ['store', 'CLOUD66_ACCESS_TOKEN', 'CLOUD66_TOKEN', 'token-file', 'cx'])
})
