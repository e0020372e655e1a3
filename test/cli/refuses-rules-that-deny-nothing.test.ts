// A deny rule is a security setting: one that could never deny anything (a typo'd method, an
// empty pattern, a pattern no path can match) must stop check-config and serve, not pass quietly.
import test from 'ava'
import { startSimulator } from '../../src/simulator/index.js'
import { cleanEnv, runCli, startCli } from '../helpers/cli.js'
import { tempHome } from '../helpers/token-files.js'

const DENY_NOTHING = [
  ['PSOT /stacks/*/deployments', /PSOT is not a method/],
  ['POST ', /expected "\[METHOD \]\/path\/pattern"/],
  ['/stacks//deployments', /empty path segments/],
  ['/stacks/%2A/deployments', /can never match/],
  [' ', /names no rule/],
] as const

for (const [rule, why] of DENY_NOTHING) {
  test(`check-config exits non-zero on --deny-path ${JSON.stringify(rule)}, and serve refuses to start`, async (t) => {
    const home = tempHome(t)
    const env = cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: 'tok' })
    const check = await runCli(['check-config', '--deny-path', rule], env)
    t.is(check.code, 1, check.stdout)
    t.regex(check.stderr, /--deny-path \/ C66_PROXY_DENY_PATHS: /)
    t.regex(check.stderr, why)
    t.notRegex(check.stdout, /configuration OK/)

    const serve = await runCli(['serve', '--listen', '127.0.0.1:0', '--deny-path', rule], env)
    t.is(serve.code, 2)
    t.regex(serve.stderr, why)
    t.notRegex(serve.stderr, /listening on/)
  })
}

test('the same typo in C66_PROXY_DENY_PATHS is refused too', async (t) => {
  const home = tempHome(t)
  const check = await runCli(['check-config'], cleanEnv({ HOME: home.home, C66_PROXY_DENY_PATHS: '/accounts/otp,PSOT /stacks/*/deployments' }))
  t.is(check.code, 1)
  t.regex(check.stderr, /PSOT is not a method/)
})

test('a correct rule passes check-config and serve denies what it names', async (t) => {
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const home = tempHome(t)
  const env = cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: 'sim-token' })
  const check = await runCli(['check-config', '--deny-path', 'POST /stacks/*/deployments'], env)
  t.is(check.code, 0, check.stderr)
  const proxy = startCli(t, ['serve', '--listen', '127.0.0.1:0', '--upstream', sim.url.origin, '--deny-path', 'POST /stacks/*/deployments'], env)
  const [, url] = await proxy.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
  const res = await fetch(`${url}/stacks/abc/deployments`, { method: 'POST' })
  t.is(res.status, 403)
  t.like(await res.json(), { error: 'denied_by_policy' })
  t.is(sim.requests.length, 0)
})
