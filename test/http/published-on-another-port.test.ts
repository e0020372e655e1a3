// A proxy reached on a port other than the one it listens on: Docker's `-p 127.0.0.1:9000:8066`,
// an SSH tunnel, a port forward. Callers then send `Host: 127.0.0.1:9000`, which the listen port
// never matches, so the name must be given with its port: `--allowed-hosts 127.0.0.1:9000`, or
// once for everything with `--public-url http://127.0.0.1:9000` (the OAuth redirect URI too).
import test from 'ava'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { assertProxyError, assertUpstreamUntouched, send, startGuardedStack } from '../helpers/safety-harness.js'
import { tempHome } from '../helpers/token-files.js'

const reaches = test.macro<[flags: Record<string, unknown>, host: string, origin?: string]>({
  async exec(t, flags, host, origin) {
    const stack = await startGuardedStack(t, { flags })
    const res = await send(stack.port, { target: '/api/3/stacks', host, headers: origin ? [['Origin', origin]] : [] })
    t.is(res.status, 200, res.raw)
    t.is(stack.sim.requests.length, 1)
  },
  title: (given = '', flags, host, origin) => given || `Host ${host}${origin ? ` with Origin ${origin}` : ''} reaches Cloud 66 with ${JSON.stringify(flags)}`,
})

const refused = test.macro<[flags: Record<string, unknown>, host: string]>({
  async exec(t, flags, host) {
    const stack = await startGuardedStack(t, { flags })
    const res = await send(stack.port, { target: '/api/3/stacks', host })
    assertProxyError(t, res, 403, 'forbidden_host')
    assertUpstreamUntouched(t, stack)
  },
  title: (given = '', flags, host) => given || `Host ${host} is refused with ${JSON.stringify(flags)}`,
})

test(reaches, { allowedHosts: ['127.0.0.1:9000'] }, '127.0.0.1:9000')
test(reaches, { allowedHosts: ['127.0.0.1:9000'] }, '127.0.0.1:9000', 'http://127.0.0.1:9000')
test(reaches, { allowedHosts: ['localhost:9000', '[::1]:9000'] }, '[::1]:9000')
test(reaches, { allowedHosts: ['Dev.Box:9000'] }, 'dev.box:9000')
test(reaches, { allowedHosts: ['dev.box:80'] }, 'dev.box')
test(refused, { allowedHosts: ['127.0.0.1:9000'] }, '127.0.0.1:9001')
test(refused, { allowedHosts: ['127.0.0.1:9000'] }, '127.0.0.1')
test(refused, { allowedHosts: ['127.0.0.1:9000'] }, 'evil.com:9000')
test(refused, { allowedHosts: ['dev.box:9000'] }, 'dev.box:9000.evil.com')

test(
  'the public URL names the proxy too: --public-url http://127.0.0.1:9000 lets Host 127.0.0.1:9000 in',
  reaches,
  { publicUrl: 'http://127.0.0.1:9000' },
  '127.0.0.1:9000',
  'http://127.0.0.1:9000',
)
test('a public URL on another port does not open every port', refused, { publicUrl: 'http://127.0.0.1:9000' }, '127.0.0.1:9001')

test('an Origin on the allowed name but another port is still a foreign origin', async (t) => {
  const stack = await startGuardedStack(t, { flags: { allowedHosts: ['127.0.0.1:9000'] } })
  const res = await send(stack.port, { method: 'POST', target: '/api/3/stacks', host: '127.0.0.1:9000', headers: [['Origin', 'http://127.0.0.1:3000']] })
  assertProxyError(t, res, 403, 'forbidden_origin')
  assertUpstreamUntouched(t, stack)
})

test('an --allowed-hosts entry that could never match a Host header is a configuration error', async (t) => {
  const home = tempHome(t)
  for (const entry of ['http://dev.box', 'dev.box:99999', 'dev.box:', '::1', 'dev.box/x', 'user@dev.box', '*', 'dev box']) {
    const result = await runCli(['check-config', '--allowed-hosts', entry], cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: 'tok' }))
    t.is(result.code, 1, `${entry}: ${result.stdout}`)
    t.regex(result.stderr, /--allowed-hosts \/ C66_PROXY_ALLOWED_HOSTS: /, entry)
  }
  const fine = await runCli(
    ['check-config', '--allowed-hosts', 'dev.box,127.0.0.1:9000,[::1]:9000,[fd00::1]'],
    cleanEnv({ HOME: home.home, CLOUD66_ACCESS_TOKEN: 'tok' }),
  )
  t.is(fine.code, 0, fine.stderr)
})
