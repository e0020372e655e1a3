import { randomBytes } from 'node:crypto'
import test, { type ExecutionContext } from 'ava'
import { loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { tlsFiles } from '../helpers/gateway.js'

// Gateway mode (issue 4) refuses to start without HTTPS, the OAuth client and a secret key, and
// says everything that is missing in one go, without echoing any secret it was given.

const GOOD_SECRET = randomBytes(32).toString('hex')
/** Secrets handed to a refused configuration: none may appear in what it says. */
const CLIENT_SECRET_CANARY = `client-secret-canary-${randomBytes(8).toString('hex')}`
const SHORT_SECRET_CANARY = `c0ffee${randomBytes(8).toString('hex')}` // hex, but only 14 bytes

function configError(t: ExecutionContext, run: () => unknown): ConfigError {
  const err = t.throws(run, { instanceOf: ConfigError })
  if (!(err instanceof ConfigError)) throw new Error('expected a ConfigError')
  return err
}

const settingsOf = (err: ConfigError) => err.problems.map((p) => p.setting)

test('gateway mode with nothing set is one ConfigError naming TLS, the client id, the client secret and the secret key', (t) => {
  const err = configError(t, () => loadConfig({ flags: { mode: 'gateway' }, env: { HOME: '/nonexistent' } }))
  const settings = settingsOf(err)
  t.is(err.problems.length, 4, err.message)
  t.true(
    settings.some((s) => s.includes('--tls-cert') && s.includes('--public-url') && s.includes('--trusted-proxies')),
    err.message,
  )
  t.true(
    settings.some((s) => s.includes('--client-id')),
    err.message,
  )
  t.true(
    settings.some((s) => s.includes('C66_CLIENT_SECRET')),
    err.message,
  )
  t.true(
    settings.some((s) => s.includes('C66_PROXY_SECRET')),
    err.message,
  )
})

test('a short C66_PROXY_SECRET is refused without being echoed, next to the other missing settings', (t) => {
  const err = configError(t, () =>
    loadConfig({ flags: { mode: 'gateway' }, env: { HOME: '/nonexistent', C66_PROXY_SECRET: SHORT_SECRET_CANARY, C66_CLIENT_SECRET: CLIENT_SECRET_CANARY } }),
  )
  const secretProblem = err.problems.find((p) => p.setting === 'C66_PROXY_SECRET')
  t.truthy(secretProblem, err.message)
  t.regex(secretProblem?.message ?? '', /14 bytes|at least 32/)
  // The missing TLS and client id are reported by the same error, not one at a time.
  t.true(
    settingsOf(err).some((s) => s.includes('--client-id')),
    err.message,
  )
  t.true(
    settingsOf(err).some((s) => s.includes('--tls-cert')),
    err.message,
  )
  t.false(err.message.includes(SHORT_SECRET_CANARY))
  t.false(err.message.includes(CLIENT_SECRET_CANARY))
  t.false(JSON.stringify(err.problems).includes(SHORT_SECRET_CANARY))
})

test('a secret that is neither hex nor base64 is refused', (t) => {
  const err = configError(t, () =>
    loadConfig({
      flags: { mode: 'gateway' },
      env: { HOME: '/nonexistent', C66_PROXY_SECRET: 'not a secret at all!', C66_CLIENT_SECRET: CLIENT_SECRET_CANARY },
    }),
  )
  t.truthy(
    err.problems.find((p) => p.setting === 'C66_PROXY_SECRET'),
    err.message,
  )
  t.false(err.message.includes('not a secret at all!'))
})

test('an http:// public URL behind trusted proxies is not HTTPS and is refused', (t) => {
  const err = configError(t, () =>
    loadConfig({
      flags: { mode: 'gateway', clientId: 'sim-client', publicUrl: 'http://c66.example.com', trustedProxies: ['10.0.0.0/8'] },
      env: { HOME: '/nonexistent', C66_PROXY_SECRET: GOOD_SECRET, C66_CLIENT_SECRET: CLIENT_SECRET_CANARY },
    }),
  )
  t.is(err.problems.length, 1, err.message)
  t.regex(err.problems[0]?.message ?? '', /HTTPS/)
})

test('an https:// public URL without trusted proxies is refused: the front could not be told apart from anyone', (t) => {
  const err = configError(t, () =>
    loadConfig({
      flags: { mode: 'gateway', clientId: 'sim-client', publicUrl: 'https://c66.example.com' },
      env: { HOME: '/nonexistent', C66_PROXY_SECRET: GOOD_SECRET, C66_CLIENT_SECRET: CLIENT_SECRET_CANARY },
    }),
  )
  t.is(err.problems.length, 1, err.message)
})

test('behind a TLS-terminating front (https public URL and trusted proxies) the gateway may bind to any address', (t) => {
  const config = loadConfig({
    flags: { mode: 'gateway', clientId: 'sim-client', publicUrl: 'https://c66.example.com', trustedProxies: ['10.0.0.0/8'], listen: '0.0.0.0:8066' },
    env: { HOME: '/nonexistent', C66_PROXY_SECRET: GOOD_SECRET, C66_CLIENT_SECRET: CLIENT_SECRET_CANARY },
  })
  t.is(config.mode, 'gateway')
  t.is(config.listen.host, '0.0.0.0')
  t.is(config.gateway.tls, undefined)
})

test('with its own certificate and key the gateway starts with a base64 secret too', async (t) => {
  const tls = await tlsFiles(t)
  const config = loadConfig({
    flags: { mode: 'gateway', clientId: 'sim-client', tlsCert: tls.cert, tlsKey: tls.key, listen: '0.0.0.0:8443' },
    env: { HOME: '/nonexistent', C66_PROXY_SECRET: randomBytes(32).toString('base64'), C66_CLIENT_SECRET: CLIENT_SECRET_CANARY },
  })
  t.deepEqual(config.gateway.tls, { certFile: tls.cert, keyFile: tls.key })
})

test('`c66-proxy serve --mode gateway` exits non-zero and prints every missing setting at once', async (t) => {
  const result = await runCli(['serve', '--mode', 'gateway'], cleanEnv({ C66_PROXY_DATA_DIR: '/nonexistent-c66-data' }))
  t.not(result.code, 0)
  t.is(result.stdout, '')
  for (const setting of ['--tls-cert', '--client-id', 'C66_CLIENT_SECRET', 'C66_PROXY_SECRET'])
    t.true(result.stderr.includes(setting), `${setting} in ${result.stderr}`)
})

test('`c66-proxy serve --mode gateway` with a short secret never prints the secret or the client secret', async (t) => {
  const result = await runCli(
    ['serve', '--mode', 'gateway', '--public-url', 'https://c66.example.com'],
    cleanEnv({ C66_PROXY_SECRET: SHORT_SECRET_CANARY, C66_CLIENT_SECRET: CLIENT_SECRET_CANARY, C66_PROXY_DATA_DIR: '/nonexistent-c66-data' }),
  )
  t.not(result.code, 0)
  t.true(result.stderr.includes('C66_PROXY_SECRET'), result.stderr)
  t.true(result.stderr.includes('--trusted-proxies'), result.stderr)
  t.true(result.stderr.includes('--client-id'), result.stderr)
  const everything = result.stdout + result.stderr
  t.false(everything.includes(SHORT_SECRET_CANARY))
  t.false(everything.includes(CLIENT_SECRET_CANARY))
})
