// Issue 14, finding 5: a Redis password given as a flag (`--store redis://:PW@…`,
// `--redis-options '{"password":…}'`) is on the command line, where every account on the machine
// reads it in `ps`. Credentials come from the environment or a file; a flag holding one is a
// configuration error that never echoes it. Checked against a real redis-server with requirepass.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { loadConfig, loadStoreConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { startRedis } from '../helpers/redis-server.js'

const PW = 'canary-redis-password-51c3'
const HOME = { HOME: '/nonexistent' }

function problemsOf(flags: Record<string, unknown>, env: Record<string, string> = {}): string[] {
  try {
    loadConfig({ flags, env: { ...HOME, ...env } })
    return []
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    t0(err.message)
    return err.problems.map((p) => `${p.setting}: ${p.message}`)
  }
}
/** Every message is checked for the password as it is made. */
function t0(message: string): void {
  if (message.includes(PW)) throw new Error(`a message echoed the password: ${message}`)
}

const flagCases: Array<[string, Record<string, unknown>, RegExp]> = [
  ['a password in the --store URL', { store: `redis://user:${PW}@127.0.0.1:6379` }, /--store.*holds a password.*C66_PROXY_STORE.*C66_PROXY_REDIS_PASSWORD/],
  ['a password in --redis-options', { store: 'redis://127.0.0.1:6379', redisOptions: JSON.stringify({ password: PW }) }, /--redis-options.*holds a password/],
  [
    'a Sentinel password in --redis-options',
    { store: 'redis://127.0.0.1:6379', redisOptions: JSON.stringify({ sentinelPassword: PW }) },
    /--redis-options.*holds a password/,
  ],
  [
    "a Cluster node's password in --redis-options",
    { store: 'redis://127.0.0.1:6379', redisOptions: JSON.stringify({ cluster: { redisOptions: { password: PW } } }) },
    /--redis-options.*holds a password/,
  ],
]
for (const [what, flags, expected] of flagCases) {
  test(`${what} is a configuration error that does not echo it`, (t) => {
    const problems = problemsOf(flags)
    t.true(
      problems.some((p) => expected.test(p)),
      problems.join('\n'),
    )
    t.false(problems.join('\n').includes(PW))
  })
}

test('the same credentials from the environment are accepted', (t) => {
  t.deepEqual(problemsOf({}, { C66_PROXY_STORE: `redis://user:${PW}@127.0.0.1:6379` }), [])
  t.deepEqual(problemsOf({}, { C66_PROXY_STORE: 'redis://127.0.0.1:6379', C66_PROXY_REDIS_OPTIONS: JSON.stringify({ password: PW }) }), [])
  // A flag without a password is fine, with the password from the environment.
  const config = loadConfig({ flags: { store: 'redis://127.0.0.1:6379' }, env: { ...HOME, C66_PROXY_REDIS_PASSWORD: PW } })
  t.is(config.store.kind === 'redis' ? config.store.options['password'] : undefined, PW)
})

test('C66_PROXY_REDIS_PASSWORD_FILE is read (without its trailing newline); two ways at once is an error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'c66-redis-pw-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'pw')
  await writeFile(file, `${PW}\n`, { mode: 0o600 })
  const config = loadStoreConfig({ flags: { store: 'redis://127.0.0.1:6379' }, env: { ...HOME, C66_PROXY_REDIS_PASSWORD_FILE: file } })
  t.is(config.store.kind === 'redis' ? config.store.options['password'] : undefined, PW)
  t.true(
    problemsOf({ store: 'redis://127.0.0.1:6379' }, { C66_PROXY_REDIS_PASSWORD_FILE: file, C66_PROXY_REDIS_PASSWORD: PW }).some((p) => /one way only/.test(p)),
  )
  t.true(problemsOf({}, { C66_PROXY_STORE: `redis://:${PW}@127.0.0.1:6379`, C66_PROXY_REDIS_PASSWORD: PW }).some((p) => /one way only/.test(p)))
  t.true(
    problemsOf({ store: 'redis://127.0.0.1:6379' }, { C66_PROXY_REDIS_PASSWORD_FILE: join(dir, 'missing') }).some((p) =>
      /missing cannot be read \(ENOENT\)/.test(p),
    ),
  )
})

test('against a real redis-server with requirepass: the password from a file opens the store; as a flag it is refused before anything connects', async (t) => {
  const redis = await startRedis(t, ['--requirepass', PW])
  const dir = await mkdtemp(join(tmpdir(), 'c66-redis-pw-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'pw')
  await writeFile(file, PW, { mode: 0o600 })
  const env = cleanEnv({ C66_PROXY_MODE: 'gateway', C66_PROXY_SECRET: 'x'.repeat(43), C66_PROXY_DATA_DIR: dir })

  const withFile = await runCli(['members', 'list', '--json', '--store', redis.url], { ...env, C66_PROXY_REDIS_PASSWORD_FILE: file })
  t.is(withFile.code, 0, withFile.stderr)
  t.deepEqual(JSON.parse(withFile.stdout), [])

  const without = await runCli(['members', 'list', '--store', redis.url], env)
  t.not(without.code, 0, 'without the password Redis refuses')

  const asFlag = await runCli(['members', 'list', '--store', redis.url.replace('redis://', `redis://:${PW}@`)], env)
  t.is(asFlag.code, 2, asFlag.stderr)
  t.regex(asFlag.stderr, /holds a password/)
  t.false(asFlag.stderr.includes(PW) || asFlag.stdout.includes(PW))
})

test('secret files that are FIFOs or devices are refused at once instead of hanging start-up', async (t) => {
  const { execFileSync } = await import('node:child_process')
  const dir = await mkdtemp(join(tmpdir(), 'c66-secret-fifo-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  for (const [env, setting] of [
    [{ C66_PROXY_REDIS_PASSWORD_FILE: fifo }, /C66_PROXY_REDIS_PASSWORD_FILE: .*fifo is not a regular file \(a FIFO\)/],
    [{ C66_CLIENT_SECRET_FILE: fifo }, /C66_CLIENT_SECRET_FILE: .*fifo is not a regular file \(a FIFO\)/],
    [{ C66_CLIENT_SECRET_FILE: '/dev/zero' }, /\/dev\/zero is not a regular file \(a character device\)/],
  ] as const) {
    const problems = problemsOf({ store: 'redis://127.0.0.1:6379' }, env)
    t.true(
      problems.some((p) => setting.test(p)),
      problems.join('\n'),
    )
  }
  const run = await runCli(['token', 'set', '--data-dir', dir], cleanEnv({ C66_PROXY_SECRET_FILE: fifo }), 'a-personal-access-token-0123456789\n', {
    timeoutMs: 10_000,
  })
  t.not(run.code, 0)
  t.is(run.signal, null, 'it ended on its own, not killed after waiting')
  t.regex(run.stderr, /fifo is not a regular file \(a FIFO\)/)
})
