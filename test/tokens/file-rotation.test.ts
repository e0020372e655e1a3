import { renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { ALL_SCOPES, startSimulator, type Simulator } from '../../src/simulator/index.js'
import { runCli, cleanEnv } from '../helpers/cli.js'
import { startProxy, type StartedProxy } from '../helpers/proxy.js'
import { hiddenTokenFile, provokeReplay } from '../helpers/rotation.js'
import { tempHome, type TempHome } from '../helpers/token-files.js'
import { tokenSeenUpstream, until, untilUpstreamSees } from '../helpers/wait.js'

const TOKENS = ['tok-one-1111', 'tok-two-2222', 'tok-three-3333', 'tok-cx-4444', 'tok-cx-5555'] as const
const [ONE, TWO, THREE, CX, CX_NEW] = TOKENS

interface Setup {
  readonly sim: Simulator
  readonly home: TempHome
  readonly tokenFile: string
  readonly proxy: StartedProxy
}

/** `initial` null: start with no token file at all. */
async function setup(t: ExecutionContext, initial: string | null = ONE): Promise<Setup> {
  const sim = await startSimulator({ tokens: Object.fromEntries(TOKENS.map((tok) => [tok, ALL_SCOPES])) })
  t.teardown(() => sim.close())
  const home = tempHome(t)
  const tokenFile = join(home.scratch, 'token')
  if (initial !== null) writeFileSync(tokenFile, `${initial}\n`)
  home.writeCx(CX)
  const proxy = await startProxy(t, { upstream: sim.url, env: { HOME: home.home }, flags: { tokenFile } })
  return { sim, home, tokenFile, proxy }
}

test('rewriting the token file in place makes the next requests use the new token', async (t) => {
  const { sim, tokenFile, proxy } = await setup(t)
  t.is(await tokenSeenUpstream(sim, proxy.url), ONE)
  writeFileSync(tokenFile, `${TWO}\n`)
  await untilUpstreamSees(sim, proxy.url, TWO)
  // Once seen, the new token stays: the old one is not served from a stale cache entry.
  t.is(await tokenSeenUpstream(sim, proxy.url), TWO)
  t.is(await tokenSeenUpstream(sim, proxy.url), TWO)
})

test('replacing the token file by an atomic rename makes the next requests use the new token', async (t) => {
  const { sim, home, tokenFile, proxy } = await setup(t)
  t.is(await tokenSeenUpstream(sim, proxy.url), ONE)
  const staged = join(home.scratch, '.token.tmp')
  writeFileSync(staged, THREE)
  renameSync(staged, tokenFile)
  await untilUpstreamSees(sim, proxy.url, THREE)
  t.is(await tokenSeenUpstream(sim, proxy.url), THREE)
})

test('deleting the token file falls back to the next source, and restoring it takes over again', async (t) => {
  const { sim, tokenFile, proxy } = await setup(t)
  t.is(await tokenSeenUpstream(sim, proxy.url), ONE)
  rmSync(tokenFile)
  await untilUpstreamSees(sim, proxy.url, CX)
  writeFileSync(tokenFile, TWO)
  await untilUpstreamSees(sim, proxy.url, TWO)
  t.is(await tokenSeenUpstream(sim, proxy.url), TWO)
})

test('a token file created after the start is picked up without a restart', async (t) => {
  const { sim, tokenFile, proxy } = await setup(t, null)
  t.is(await tokenSeenUpstream(sim, proxy.url), CX)
  writeFileSync(tokenFile, THREE)
  await untilUpstreamSees(sim, proxy.url, THREE)
  t.is(await tokenSeenUpstream(sim, proxy.url), THREE)
})

test('logging in again with cx (a rewritten ~/.cloud66/cx.json) is picked up', async (t) => {
  const sim = await startSimulator({ tokens: Object.fromEntries(TOKENS.map((tok) => [tok, ALL_SCOPES])) })
  t.teardown(() => sim.close())
  const home = tempHome(t)
  home.writeCx(CX)
  const proxy = await startProxy(t, { upstream: sim.url, env: { HOME: home.home } })
  t.is(await tokenSeenUpstream(sim, proxy.url), CX)
  home.writeCx(CX_NEW)
  await untilUpstreamSees(sim, proxy.url, CX_NEW)
  t.is(await tokenSeenUpstream(sim, proxy.url), CX_NEW)
})

test('a malformed token file is reported and skipped: the next source is used until the file is fixed', async (t) => {
  const { sim, tokenFile, proxy } = await setup(t, 'two words')
  t.is(await tokenSeenUpstream(sim, proxy.url), CX)
  const report = (await proxy.app.tokens.describe()).local?.report.find((r) => r.source === 'token-file')
  t.like(report, { state: 'invalid', location: tokenFile })
  t.regex(report?.problem ?? '', /more than one word/)

  writeFileSync(tokenFile, '{"AccessToken": ')
  await until('the broken JSON to be reported', async () => {
    await tokenSeenUpstream(sim, proxy.url)
    const r = (await proxy.app.tokens.describe()).local?.report.find((x) => x.source === 'token-file')
    return r?.problem === 'not valid JSON' ? r : undefined
  })
  t.is(await tokenSeenUpstream(sim, proxy.url), CX)

  writeFileSync(tokenFile, TWO)
  await untilUpstreamSees(sim, proxy.url, TWO)
  t.is(await tokenSeenUpstream(sim, proxy.url), TWO)
})

test('c66-proxy status reports a malformed token file by name and the source actually in use', async (t) => {
  const home = tempHome(t)
  const tokenFile = join(home.scratch, 'token')
  writeFileSync(tokenFile, '{"AccessToken": ')
  home.writeCx(CX)
  const result = await runCli(['status', '--json', '--token-file', tokenFile, '--listen', '127.0.0.1:1'], cleanEnv({ HOME: home.home }))
  t.is(result.code, 0, result.stderr)
  const status = JSON.parse(result.stdout) as {
    token: { source: string; location: string }
    sources: Array<{ source: string; state: string; problem?: string; location: string }>
  }
  t.like(status.token, { source: 'cx', location: join(home.cxDir, 'cx.json') })
  t.deepEqual(
    status.sources.find((s) => s.source === 'token-file'),
    { source: 'token-file', location: tokenFile, state: 'invalid', problem: 'not valid JSON' },
  )
})

test('a token rotated behind the watcher is picked up after the upstream 401, and the request is retried once with it', async (t) => {
  const sim = await startSimulator({ tokens: { [ONE]: ALL_SCOPES } })
  t.teardown(() => sim.close())
  const home = tempHome(t)
  const file = hiddenTokenFile(home.scratch, ONE)
  const proxy = await startProxy(t, { upstream: sim.url, env: { HOME: home.home }, flags: { tokenFile: file.link } })
  const outcome = await provokeReplay(sim, proxy.url, file, ONE, (n) => `tok-rotated-${n}`)
  t.is(outcome.status, 200)
  t.is(outcome.body, 'replay me', 'the buffered body went out again on the retry')
  t.deepEqual(outcome.seen, [outcome.stale, outcome.next], 'exactly one retry, with the new token')
  const metrics = await (await fetch(`${proxy.url}/-/metrics`)).text()
  t.regex(metrics, /c66_proxy_upstream_401_total\{action="replayed"\} [1-9]/)
})

test('an upstream 401 with an unchanged token is passed through untouched, without a retry', async (t) => {
  const sim = await startSimulator({ tokens: { [ONE]: ALL_SCOPES } })
  t.teardown(() => sim.close())
  const home = tempHome(t)
  const tokenFile = join(home.scratch, 'token')
  writeFileSync(tokenFile, ONE)
  const proxy = await startProxy(t, { upstream: sim.url, env: { HOME: home.home }, flags: { tokenFile } })
  t.is(await tokenSeenUpstream(sim, proxy.url), ONE)
  sim.revokeToken(ONE)
  const before = sim.requests.length
  const res = await fetch(`${proxy.url}/stacks`)
  t.is(res.status, 401)
  t.is(await res.text(), '', "Cloud 66's empty 401 body is passed through")
  t.regex(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/)
  const seen = await until('the request to be recorded', async () => (sim.requests.length > before ? sim.requests.slice(before) : undefined))
  t.is(seen.length, 1)
  const metrics = await (await fetch(`${proxy.url}/-/metrics`)).text()
  t.regex(metrics, /c66_proxy_upstream_401_total\{action="passed_through"\} 1\n/)
  t.notRegex(metrics, /action="replayed"/)
})
