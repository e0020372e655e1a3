import { randomUUID } from 'node:crypto'
import test from 'ava'
import { fingerprintOf } from '../../src/secret.js'
import { startSimulator } from '../../src/simulator/index.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { startProxy } from '../helpers/proxy.js'
import { cloud66TokenValue, tempHome } from '../helpers/token-files.js'

interface StatusJson {
  mode: string
  listen: string
  running: boolean
  upstream: string
  token: { source: string; location: string; fingerprint: string } | null
  sources: Array<{ source: string; state: string; location: string }>
}

test('status shows the token source, its fingerprint, the upstream and the listen address, never the token', async (t) => {
  const home = tempHome(t)
  const canary = `canary-${randomUUID()}`
  const result = await runCli(
    ['status', '--upstream', 'https://c66.example.com', '--listen', '127.0.0.1:1'],
    cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: canary }),
  )
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, /^listen: +127\.0\.0\.1:1 \(nothing answering there\)$/m)
  t.regex(result.stdout, /^upstream: +https:\/\/c66\.example\.com\/api\/3$/m)
  t.true(result.stdout.includes(`CLOUD66_ACCESS_TOKEN (CLOUD66_ACCESS_TOKEN), fingerprint ${fingerprintOf(canary)}`), result.stdout)
  t.false((result.stdout + result.stderr).includes(canary))
})

test('status --json gives the same facts as JSON, with every source in order and none of the tokens', async (t) => {
  const home = tempHome(t)
  home.writeCx('cx-canary-token-abc')
  const access = `canary-${randomUUID()}`
  const encoded = `canary-${randomUUID()}`
  const result = await runCli(
    ['status', '--json', '--listen', '127.0.0.1:1'],
    cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: access, CLOUD66_TOKEN: cloud66TokenValue(encoded) }),
  )
  t.is(result.code, 0, result.stderr)
  const status = JSON.parse(result.stdout) as StatusJson
  t.like(status, {
    mode: 'local',
    listen: '127.0.0.1:1',
    running: false,
    upstream: 'https://app.cloud66.com/api/3',
    token: { source: 'CLOUD66_ACCESS_TOKEN', location: 'CLOUD66_ACCESS_TOKEN', fingerprint: fingerprintOf(access) },
  })
  t.deepEqual(
    status.sources.map((s) => [s.source, s.state]),
    [
      ['store', 'absent'],
      ['CLOUD66_ACCESS_TOKEN', 'used'],
      ['CLOUD66_TOKEN', 'shadowed'],
    ],
  )
  const output = result.stdout + result.stderr
  for (const secret of [access, encoded, cloud66TokenValue(encoded), 'cx-canary-token-abc']) t.false(output.includes(secret))
})

test('status exits non-zero and says so when no token is available', async (t) => {
  const home = tempHome(t)
  const result = await runCli(['status', '--listen', '127.0.0.1:1'], cleanEnv({ HOME: home.home }))
  t.is(result.code, 1)
  t.regex(result.stdout, /^token: +none — API requests will get 401$/m)
  const json = await runCli(['status', '--json', '--listen', '127.0.0.1:1'], cleanEnv({ HOME: home.home }))
  t.is(json.code, 1)
  t.is((JSON.parse(json.stdout) as StatusJson).token, null)
})

test('status says whether a proxy is answering at the listen address', async (t) => {
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'sim-token' } })
  const home = tempHome(t)
  const result = await runCli(['status', '--json', '--listen', `127.0.0.1:${proxy.port}`], cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: 'sim-token' }))
  t.is(result.code, 0, result.stderr)
  t.like(JSON.parse(result.stdout) as StatusJson, { running: true, listen: `127.0.0.1:${proxy.port}` })
  t.is(sim.requests.length, 0, 'status only asks the proxy, never Cloud 66')
})

test('status with an invalid configuration prints the problems and exits non-zero', async (t) => {
  const result = await runCli(['status', '--listen', 'nowhere'], cleanEnv())
  t.not(result.code, 0)
  t.regex(result.stderr, /--listen \/ C66_PROXY_LISTEN: "nowhere" is not HOST:PORT/)
})
