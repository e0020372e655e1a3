import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { loadConfig, type LoadInput } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'c66-problems-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function problemsOf(t: ExecutionContext, input: LoadInput): ConfigError {
  const error = t.throws(() => loadConfig(input), { instanceOf: ConfigError })
  if (!error) throw new Error('loadConfig did not fail')
  return error
}

test('every problem in flags, environment and config file is reported at once, each naming its setting', (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'proxy.json')
  const canary = `canary-${randomUUID()}`
  writeFileSync(file, JSON.stringify({ connectTimeout: 'soon', acessToken: canary, idleTimeout: 5 }))
  const error = problemsOf(t, {
    flags: { config: file, listen: 'nonsense', denyPaths: ['not a rule'] },
    env: {
      HOME: dir,
      C66_PROXY_UPSTREAM: 'ftp://app.cloud66.com',
      C66_PROXY_LOG_LEVEL: 'loud',
      C66_PROXY_READ_ONLY: 'maybe',
      C66_PROXY_MAX_HEADER_BYTES: '-5',
      C66_PROXY_SHUTDOWN_GRACE: '0s',
      CLOUD66_TOKEN: Buffer.from(`not json ${canary}`).toString('base64'),
    },
  })
  const settings = error.problems.map((p) => p.setting)
  t.deepEqual(
    [...settings].sort(),
    [
      '--listen / C66_PROXY_LISTEN',
      '--upstream / C66_PROXY_UPSTREAM',
      '--log-level / C66_PROXY_LOG_LEVEL',
      `--connect-timeout / C66_PROXY_CONNECT_TIMEOUT (in ${file})`,
      '--shutdown-grace / C66_PROXY_SHUTDOWN_GRACE',
      '--read-only / C66_PROXY_READ_ONLY',
      '--deny-path / C66_PROXY_DENY_PATHS',
      '--max-header-bytes / C66_PROXY_MAX_HEADER_BYTES',
      `${file} (key "acessToken")`,
      'CLOUD66_TOKEN',
    ].sort(),
  )
  // The message lists them all too, one per line, and never the secret value.
  for (const setting of settings) t.true(error.message.includes(setting), setting)
  t.false(error.message.includes(canary))
  t.false(JSON.stringify(error.problems).includes(canary))
})

test('a non-loopback listen address and a plain-http remote upstream are both reported, with the flag that overrides each', (t) => {
  const dir = tempDir(t)
  const error = problemsOf(t, { flags: { listen: '0.0.0.0:8066', upstream: 'http://app.cloud66.com' }, env: { HOME: dir } })
  t.is(error.problems.length, 2)
  t.regex(error.message, /--listen \/ C66_PROXY_LISTEN: 0\.0\.0\.0 is not a loopback address.*--unsafe-listen-any/)
  t.regex(error.message, /--upstream \/ C66_PROXY_UPSTREAM: plain http:\/\/.*--unsafe-http-upstream/)
  // Each override lifts exactly its own problem.
  t.is(
    loadConfig({ flags: { listen: '0.0.0.0:8066', upstream: 'http://app.cloud66.com', unsafeListenAny: true, unsafeHttpUpstream: true }, env: { HOME: dir } })
      .listen.host,
    '0.0.0.0',
  )
})

test('unknown keys in the config file are problems, named by file and key', (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'typo.json')
  writeFileSync(file, JSON.stringify({ listenn: '127.0.0.1:1', read_only: true }))
  const error = problemsOf(t, { flags: { config: file }, env: { HOME: dir } })
  t.deepEqual(error.problems.map((p) => p.setting).sort(), [`${file} (key "listenn")`, `${file} (key "read_only")`])
  t.true(error.problems.every((p) => p.message === 'unknown setting'))
})

test('a config file that is missing, not JSON, or not an object is reported under --config', (t) => {
  const dir = tempDir(t)
  const notJson = join(dir, 'broken.json')
  writeFileSync(notJson, '{ "listen": ')
  const notObject = join(dir, 'array.json')
  writeFileSync(notObject, '["listen"]')
  const nullFile = join(dir, 'null.json')
  writeFileSync(nullFile, 'null')
  for (const [file, message] of [
    [join(dir, 'absent.json'), /cannot read .*ENOENT/],
    [notJson, /is not valid JSON/],
    [notObject, /must hold a JSON object/],
    [nullFile, /must hold a JSON object/],
  ] as const) {
    const error = problemsOf(t, { flags: { config: file }, env: { HOME: dir } })
    t.is(error.problems[0]?.setting, '--config / C66_PROXY_CONFIG', file)
    t.regex(error.problems[0]?.message ?? '', message, file)
  }
})

test('a broken CLOUD66_TOKEN is reported without echoing it, whatever way it is broken', (t) => {
  const dir = tempDir(t)
  const canary = `canary-${randomUUID()}`
  const broken = [
    canary, // a raw token where base64 of the cx JSON is expected
    Buffer.from(JSON.stringify({ AccessToken: '', RefreshToken: canary })).toString('base64'),
    Buffer.from(JSON.stringify([canary])).toString('base64'),
    Buffer.from(`{"AccessToken":"${canary}"`).toString('base64'),
  ]
  for (const value of broken) {
    const error = problemsOf(t, { flags: {}, env: { HOME: dir, CLOUD66_TOKEN: value } })
    t.is(error.problems[0]?.setting, 'CLOUD66_TOKEN')
    t.regex(error.message, /cx dump-token \| base64/)
    t.false(error.message.includes(canary))
    t.false(error.message.includes(value))
  }
})

test('credentials inside the upstream URL are refused without being echoed', (t) => {
  const dir = tempDir(t)
  const canary = `canary-${randomUUID()}`
  const error = problemsOf(t, { flags: { upstream: `https://me:${canary}@app.cloud66.com` }, env: { HOME: dir } })
  t.is(error.problems[0]?.setting, '--upstream / C66_PROXY_UPSTREAM')
  t.false(error.message.includes(canary))
})

test('an upstream with a path, query or fragment is refused: the proxy adds /api/3 itself', (t) => {
  const dir = tempDir(t)
  for (const upstream of ['https://app.cloud66.com/api/3', 'https://app.cloud66.com/?x=1', 'https://app.cloud66.com/#top']) {
    const error = problemsOf(t, { flags: { upstream }, env: { HOME: dir } })
    t.regex(error.message, /--upstream \/ C66_PROXY_UPSTREAM: must be an origin only/, upstream)
  }
})

test('durations that are not durations are refused with examples of the format', (t) => {
  const dir = tempDir(t)
  for (const value of ['soon', '5 minutes', '-1s', '0', '1w']) {
    const error = problemsOf(t, { flags: { responseTimeout: value }, env: { HOME: dir } })
    t.regex(error.message, /--response-timeout \/ C66_PROXY_RESPONSE_TIMEOUT: .* is not a duration \(e\.g\. 500ms, 5s, 2m\)/, value)
  }
})

test('counts that are not positive integers are refused, from a flag, a variable or the config file', (t) => {
  const dir = tempDir(t)
  for (const value of ['0', '-1', '1.5', 'ten', '0x10', '1e3', '2147483649']) {
    const error = problemsOf(t, { flags: { upstreamMaxSockets: value }, env: { HOME: dir } })
    t.regex(error.message, /--upstream-max-sockets \/ C66_PROXY_UPSTREAM_MAX_SOCKETS: .* is not a positive integer/, value)
    const fromEnv = problemsOf(t, { flags: {}, env: { HOME: dir, C66_PROXY_UPSTREAM_MAX_SOCKETS: value } })
    t.regex(fromEnv.message, /is not a positive integer/, `env ${value}`)
  }
  const file = join(dir, 'config.json')
  for (const value of [0, 2.5, true, [4], { n: 4 }]) {
    writeFileSync(file, JSON.stringify({ upstreamMaxSockets: value }))
    const error = problemsOf(t, { flags: { config: file }, env: { HOME: dir } })
    t.regex(error.message, /is not a positive integer/, JSON.stringify(value))
  }
  t.is(loadConfig({ flags: { upstreamMaxSockets: ' 12 ' }, env: { HOME: dir } }).upstreamMaxSockets, 12)
})
