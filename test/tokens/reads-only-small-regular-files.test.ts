// A token file is a regular file of at most 16 KiB. Anything else a path can name (a FIFO, a
// device such as /dev/zero, a directory, a socket, a huge file, or a symlink to one of them) is
// reported as a broken source and skipped, without blocking and without reading it through:
// through `status --json` (the built CLI) and through the running proxy.
import { rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { ALL_SCOPES, startSimulator, type Simulator } from '../../src/simulator/index.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { startProxy, type StartedProxy } from '../helpers/proxy.js'
import { cxTokenJson, fifo, NOT_TOKEN_FILES, NOT_TOKEN_FILES_BEHIND_LINKS, tempHome } from '../helpers/token-files.js'
import { until } from '../helpers/wait.js'

const TOKEN = 'tok-file-regular-1111'
const CX = 'tok-cx-fallback-2222'
/** Long enough for a busy machine, far shorter than a hang. */
const ANSWER_WITHIN_MS = 5_000

interface SourceRow {
  source: string
  state: string
  location: string
  problem?: string
}

async function statusJson(t: ExecutionContext, tokenFile: string, home: string) {
  const result = await runCli(['status', '--json', '--token-file', tokenFile, '--listen', '127.0.0.1:1'], cleanEnv({ HOME: home }), '', { timeoutMs: 10_000 })
  t.is(result.signal, null, `status did not finish in time; stderr: ${result.stderr}`)
  return { result, status: JSON.parse(result.stdout) as { token: { source: string } | null; sources: SourceRow[] } }
}

test('status --json: a regular token file, directly or through a symlink, is used', async (t) => {
  const home = tempHome(t)
  const file = join(home.scratch, 'token')
  writeFileSync(file, `${TOKEN}\n`)
  const link = join(home.scratch, 'link')
  symlinkSync(file, link)
  for (const path of [file, link]) {
    const { result, status } = await statusJson(t, path, home.home)
    t.is(result.code, 0, result.stderr)
    t.like(status.token, { source: 'token-file' })
    t.like(
      status.sources.find((s) => s.source === 'token-file'),
      { state: 'used', location: path },
    )
  }
})

for (const kind of [...NOT_TOKEN_FILES, ...NOT_TOKEN_FILES_BEHIND_LINKS]) {
  test(`status --json: ${kind.kind} as the token file is invalid ("${kind.problem}") and skipped`, async (t) => {
    const home = tempHome(t)
    const path = await kind.make(t, home.scratch)
    const { result, status } = await statusJson(t, path, home.home)
    t.is(result.code, 1, 'no token')
    t.is(status.token, null)
    t.deepEqual(
      status.sources.find((s) => s.source === 'token-file'),
      { source: 'token-file', location: path, state: 'invalid', problem: kind.problem },
    )
  })
}

test('check-config warns about a FIFO as the token file, by name, and does not hang', async (t) => {
  const home = tempHome(t)
  const path = fifo(t, join(home.scratch, 'fifo'))
  const result = await runCli(['check-config', '--token-file', path], cleanEnv({ HOME: home.home }), '', { timeoutMs: 10_000 })
  t.is(result.signal, null, 'check-config finished')
  t.is(result.code, 0, result.stderr)
  t.true(result.stdout.includes(`warning: token source token-file (${path}) is not a regular file (a FIFO)`), result.stdout)
})

async function proxyOn(
  t: ExecutionContext,
  setUp: (scratch: string) => Promise<string>,
  withCx = false,
): Promise<{ sim: Simulator; proxy: StartedProxy; path: string }> {
  const sim = await startSimulator({ tokens: { [TOKEN]: ALL_SCOPES, [CX]: ALL_SCOPES } })
  t.teardown(() => sim.close())
  const home = tempHome(t)
  if (withCx) home.writeCx(CX)
  const path = await setUp(home.scratch)
  const proxy = await startProxy(t, { upstream: sim.url, env: { HOME: home.home }, flags: { tokenFile: path } })
  return { sim, proxy, path }
}

/** One API request through the proxy; a hang fails the test instead of stalling it. */
async function ask(proxy: StartedProxy): Promise<{ status: number; error?: string }> {
  const res = await fetch(`${proxy.url}/stacks`, { signal: AbortSignal.timeout(ANSWER_WITHIN_MS) })
  const body = (await res.json()) as { error?: string }
  return { status: res.status, ...(body.error === undefined ? {} : { error: body.error }) }
}

test('the proxy: a regular token file is used', async (t) => {
  const { sim, proxy } = await proxyOn(t, async (dir) => {
    writeFileSync(join(dir, 'token'), TOKEN)
    return join(dir, 'token')
  })
  t.like(await ask(proxy), { status: 200 })
  t.is(sim.requests.at(-1)?.token, TOKEN)
})

for (const kind of [...NOT_TOKEN_FILES, ...NOT_TOKEN_FILES_BEHIND_LINKS]) {
  test(`the proxy: ${kind.kind} as the token file answers 401 no_token at once, and is reported`, async (t) => {
    const { sim, proxy, path } = await proxyOn(t, (dir) => kind.make(t, dir))
    // Twice: the second request re-reads the file after the first answer's cache has gone.
    t.deepEqual(await ask(proxy), { status: 401, error: 'no_token' })
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    t.deepEqual(await ask(proxy), { status: 401, error: 'no_token' })
    t.is(sim.requests.length, 0)
    const report = (await proxy.app.tokens.describe()).local?.report.find((r) => r.source === 'token-file')
    t.deepEqual(report, { source: 'token-file', location: path, state: 'invalid', problem: kind.problem })
  })
}

test('the proxy: a token file holding a token with CR/LF in it (every call used to fail with 500) is invalid and skipped', async (t) => {
  const { sim, proxy } = await proxyOn(
    t,
    async (dir) => {
      writeFileSync(join(dir, 'token'), cxTokenJson(`${TOKEN}\r\nX-Injected: 1`))
      return join(dir, 'token')
    },
    true,
  )
  t.like(await ask(proxy), { status: 200 })
  t.is(sim.requests.at(-1)?.token, CX, 'the next source is used')
  const report = (await proxy.app.tokens.describe()).local?.report.find((r) => r.source === 'token-file')
  t.like(report, { state: 'invalid' })
  t.regex(report?.problem ?? '', /control character/)
})

test('the proxy keeps answering when its token file is replaced by a FIFO or a huge file, and takes it back once fixed', async (t) => {
  const { sim, proxy, path } = await proxyOn(
    t,
    async (dir) => {
      writeFileSync(join(dir, 'token'), TOKEN)
      return join(dir, 'token')
    },
    true,
  )
  t.like(await ask(proxy), { status: 200 })
  t.is(sim.requests.at(-1)?.token, TOKEN)

  const tokenNow = async () => {
    t.like(await ask(proxy), { status: 200 })
    return sim.requests.at(-1)?.token
  }
  rmSync(path)
  fifo(t, path)
  await until('the FIFO to be passed over', async () => ((await tokenNow()) === CX ? true : undefined))
  t.like(
    (await proxy.app.tokens.describe()).local?.report.find((r) => r.source === 'token-file'),
    { state: 'invalid', problem: 'is not a regular file (a FIFO)' },
  )

  rmSync(path)
  writeFileSync(path, '')
  truncateSync(path, 512 * 1024 * 1024)
  await until('the huge file to be reported', async () => {
    t.is(await tokenNow(), CX)
    const report = (await proxy.app.tokens.describe()).local?.report.find((r) => r.source === 'token-file')
    return report?.problem === 'is 512 MiB; a token file is at most 16 KiB' ? true : undefined
  })

  writeFileSync(path, TOKEN)
  await until('the fixed file to be used again', async () => ((await tokenNow()) === TOKEN ? true : undefined))
})
