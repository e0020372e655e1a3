// `check-config --json`, like `status --json` and `token show --json`: the same findings as the
// text output, as one JSON document on standard output, with the same exit code. And a
// --token-file that does not exist is named in a warning of its own (not only "no token").
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import test from 'ava'
import { cleanEnv, runCli, startCli } from '../helpers/cli.js'
import { tempHome } from '../helpers/token-files.js'

interface CheckJson {
  ok: boolean
  listen: string | null
  upstream: string | null
  problems: Array<{ setting: string; message: string }>
  warnings: string[]
}

test('check-config --json on a valid configuration prints one JSON document and exits 0', async (t) => {
  const home = tempHome(t)
  const result = await runCli(['check-config', '--json', '--listen', '127.0.0.1:7003'], cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: 'tok' }))
  t.is(result.code, 0, result.stderr)
  t.is(result.stderr, '')
  const out = JSON.parse(result.stdout) as CheckJson
  t.deepEqual(out, { ok: true, listen: '127.0.0.1:7003', upstream: 'https://app.cloud66.com/api/3', problems: [], warnings: [] })
})

test('check-config --json lists every problem, naming each setting, exits 1 and echoes no secret', async (t) => {
  const home = tempHome(t)
  const canary = `canary-${randomUUID()}`
  const result = await runCli(
    ['check-config', '--json', '--listen', 'nowhere', '--deny-path', 'PSOT /stacks/*/deployments'],
    cleanEnv({ HOME: home.home, CLOUD66_TOKEN: Buffer.from(`{"AccessToken": "${canary}"`).toString('base64') }),
  )
  t.is(result.code, 1)
  t.notRegex(result.stdout + result.stderr, /unknown option|Usage:/)
  const out = JSON.parse(result.stdout) as CheckJson
  t.false(out.ok)
  t.is(out.listen, null)
  t.deepEqual(
    out.problems.map((p) => p.setting),
    ['--listen / C66_PROXY_LISTEN', '--deny-path / C66_PROXY_DENY_PATHS', 'CLOUD66_TOKEN'],
  )
  t.regex(out.problems[1]?.message ?? '', /PSOT is not a method/)
  t.false(result.stdout.includes(canary))
})

test('check-config warns about a --token-file that does not exist, in text and in JSON', async (t) => {
  const home = tempHome(t)
  const missing = join(home.scratch, 'no-such-dir', 'token')
  const text = await runCli(['check-config', '--token-file', missing], cleanEnv({ HOME: home.home }))
  t.is(text.code, 0, text.stderr)
  t.true(text.stdout.includes(`warning: --token-file ${missing} does not exist`), text.stdout)
  // The file is named even when another source has a token (the file would be skipped anyway).
  const json = await runCli(['check-config', '--json', '--token-file', missing], cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: 'tok' }))
  t.is(json.code, 0)
  const out = JSON.parse(json.stdout) as CheckJson
  t.true(
    out.warnings.some((w) => w.startsWith(`--token-file ${missing} does not exist`)),
    JSON.stringify(out.warnings),
  )
  t.false(
    out.warnings.some((w) => /no Cloud 66 token found/.test(w)),
    'a token is available',
  )
})

test('serve warns about a --token-file that does not exist when it starts', async (t) => {
  const home = tempHome(t)
  const missing = join(home.scratch, 'token')
  const proxy = startCli(
    t,
    ['serve', '--listen', '127.0.0.1:0', '--token-file', missing, '--data-dir', join(home.scratch, 'data')],
    cleanEnv({ HOME: home.home }),
  )
  await proxy.waitFor(/listening on http/)
  const [line] = await proxy.waitFor(/^\{.*"level":40.*--token-file.*\}$/m)
  t.true(line.includes(`--token-file ${missing} does not exist`), line)
  proxy.child.kill('SIGTERM')
  t.like(await proxy.exited, { code: 0 })
})
