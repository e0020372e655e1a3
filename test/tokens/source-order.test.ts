import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { ALL_SCOPES, startSimulator, type Simulator } from '../../src/simulator/index.js'
import { startProxy } from '../helpers/proxy.js'
import { cloud66TokenValue, cxTokenJson, tempHome, type TempHome } from '../helpers/token-files.js'
import { tokenSeenUpstream } from '../helpers/wait.js'

/** One token per source, all valid upstream, so the simulator's record says which source won. */
const TOKENS = {
  access: 'tok-access-0001',
  cloud66: 'tok-cloud66-0002',
  file: 'tok-file-0003',
  cx: 'tok-cx-0004',
  profile: 'tok-profile-0005',
} as const

interface Setup {
  readonly sim: Simulator
  readonly home: TempHome
  readonly tokenFile: string
}

async function setup(t: ExecutionContext): Promise<Setup> {
  const sim = await startSimulator({ tokens: Object.fromEntries(Object.values(TOKENS).map((tok) => [tok, ALL_SCOPES])) })
  t.teardown(() => sim.close())
  const home = tempHome(t)
  const tokenFile = join(home.scratch, 'token')
  // `echo $TOKEN > file` leaves a newline: the raw token is read trimmed.
  writeFileSync(tokenFile, `${TOKENS.file}\n`)
  home.writeCx(TOKENS.cx)
  home.writeCx(TOKENS.profile, 'cx_staging.json')
  home.writeProfiles({ default: 'cx.json', staging: 'cx_staging.json' }, 'default')
  return { sim, home, tokenFile }
}

interface Case {
  readonly title: string
  readonly env: (s: Setup) => Record<string, string>
  readonly flags: (s: Setup) => Record<string, unknown>
  readonly expected: string
}

const allEnv = (s: Setup) => ({ HOME: s.home.home, CLOUD66_ACCESS_TOKEN: TOKENS.access, CLOUD66_TOKEN: cloud66TokenValue(TOKENS.cloud66) })

const CASES: readonly Case[] = [
  {
    title: 'CLOUD66_ACCESS_TOKEN wins over every other source',
    env: allEnv,
    flags: (s) => ({ tokenFile: s.tokenFile, cxProfile: 'staging' }),
    expected: TOKENS.access,
  },
  {
    title: 'CLOUD66_TOKEN (base64 of the cx token JSON) is next, ahead of the token file and cx files',
    env: (s) => ({ HOME: s.home.home, CLOUD66_TOKEN: cloud66TokenValue(TOKENS.cloud66) }),
    flags: (s) => ({ tokenFile: s.tokenFile }),
    expected: TOKENS.cloud66,
  },
  {
    title: 'the --token-file comes next, ahead of the cx toolbelt file',
    env: (s) => ({ HOME: s.home.home }),
    flags: (s) => ({ tokenFile: s.tokenFile }),
    expected: TOKENS.file,
  },
  {
    title: 'the cx toolbelt file $HOME/.cloud66/cx.json is used when nothing else is set',
    env: (s) => ({ HOME: s.home.home }),
    flags: () => ({}),
    expected: TOKENS.cx,
  },
  {
    title: "with --cx-profile the profile's token_file from cxprofiles.json is used instead of cx.json",
    env: (s) => ({ HOME: s.home.home }),
    flags: () => ({ cxProfile: 'staging' }),
    expected: TOKENS.profile,
  },
  {
    title: 'the C66_PROXY_TOKEN_FILE variable names the token file like the flag does',
    env: (s) => ({ HOME: s.home.home, C66_PROXY_TOKEN_FILE: s.tokenFile }),
    flags: () => ({}),
    expected: TOKENS.file,
  },
]

for (const c of CASES) {
  test(`${c.title}, as the upstream sees it`, async (t) => {
    const s = await setup(t)
    const proxy = await startProxy(t, { upstream: s.sim.url, env: c.env(s), flags: c.flags(s) })
    t.is(await tokenSeenUpstream(s.sim, proxy.url), c.expected)
    // Both URL forms carry the same token.
    t.is(await tokenSeenUpstream(s.sim, proxy.url, '/api/3/stacks'), c.expected)
    const described = await proxy.app.tokens.describe()
    t.is(described.active?.token.reveal(), c.expected)
  })
}

test('a --token-file holding the cx token JSON is accepted as well as a raw token', async (t) => {
  const s = await setup(t)
  writeFileSync(s.tokenFile, cxTokenJson(TOKENS.file))
  const proxy = await startProxy(t, { upstream: s.sim.url, env: { HOME: s.home.home }, flags: { tokenFile: s.tokenFile } })
  t.is(await tokenSeenUpstream(s.sim, proxy.url), TOKENS.file)
})

test('with no token anywhere the proxy still starts, and API requests get a 401 JSON error saying how to provide one', async (t) => {
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const home = tempHome(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { HOME: home.home } })
  const res = await fetch(`${proxy.url}/stacks`)
  t.is(res.status, 401)
  t.regex(res.headers.get('content-type') ?? '', /application\/json/)
  const body = (await res.json()) as { error: string; message: string; request_id: string }
  t.is(body.error, 'no_token')
  for (const hint of ['CLOUD66_ACCESS_TOKEN', 'CLOUD66_TOKEN', '--token-file', '~/.cloud66/cx.json']) t.true(body.message.includes(hint), hint)
  t.is(typeof body.request_id, 'string')
  t.is(sim.requests.length, 0, 'nothing reached Cloud 66')
  const health = await fetch(`${proxy.url}/-/healthz`)
  t.is(health.status, 200)
})

test('a cx profile missing from cxprofiles.json is reported by name and no other file is guessed', async (t) => {
  const s = await setup(t)
  const proxy = await startProxy(t, { upstream: s.sim.url, env: { HOME: s.home.home }, flags: { cxProfile: 'prod' } })
  const res = await fetch(`${proxy.url}/stacks`)
  t.is(res.status, 401)
  const described = await proxy.app.tokens.describe()
  const cx = described.local?.report.find((r) => r.source === 'cx')
  t.like(cx, { state: 'invalid', problem: 'has no profile named "prod"' })
  t.is(s.sim.requests.length, 0)
})

test('CLOUD66_TOKEN as GNU base64 prints it (wrapped at 76 columns, trailing newline) is accepted', async (t) => {
  const sim = await startSimulator({ tokens: { [TOKENS.cloud66.repeat(4)]: ALL_SCOPES } })
  t.teardown(() => sim.close())
  const home = tempHome(t)
  // The token file itself ends in a newline (json.Encoder), and base64 wraps long output.
  const wrapped = `${Buffer.from(cxTokenJson(TOKENS.cloud66.repeat(4)))
    .toString('base64')
    .replace(/(.{76})/g, '$1\n')}\n`
  t.true(wrapped.split('\n').length > 2)
  const proxy = await startProxy(t, { upstream: sim.url, env: { HOME: home.home, CLOUD66_TOKEN: wrapped } })
  t.is(await tokenSeenUpstream(sim, proxy.url), TOKENS.cloud66.repeat(4))
})
