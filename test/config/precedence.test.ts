import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { loadConfig } from '../../src/config/load.js'
import { SETTINGS } from '../../src/config/settings.js'
import type { Config } from '../../src/config/types.js'

/**
 * One row per setting: a distinct value for each layer (defaults file, --config file, env, flag),
 * and how to read the effective value back from the Config. Adjacent layers always differ, so
 * peeling the top layer off must change the answer if the order is right.
 */
interface Row {
  readonly key: string
  readonly layers: readonly [defaults: unknown, file: unknown, env: string, flag: unknown]
  readonly expected: readonly [defaults: unknown, file: unknown, env: unknown, flag: unknown]
  readonly read: (c: Config) => unknown
}

const ROWS: readonly Row[] = [
  {
    key: 'listen',
    layers: ['127.0.0.1:7000', '127.0.0.1:7001', '127.0.0.2:7002', '[::1]:7003'],
    expected: [
      { host: '127.0.0.1', port: 7000 },
      { host: '127.0.0.1', port: 7001 },
      { host: '127.0.0.2', port: 7002 },
      { host: '::1', port: 7003 },
    ],
    read: (c) => ({ ...c.listen }),
  },
  {
    key: 'upstream',
    layers: ['https://a.example', 'https://b.example', 'https://c.example', 'http://127.0.0.1:9999'],
    expected: ['https://a.example', 'https://b.example', 'https://c.example', 'http://127.0.0.1:9999'],
    read: (c) => c.upstream.origin,
  },
  {
    key: 'tokenFile',
    layers: ['/d/token', '/f/token', '/e/token', '/flag/token'],
    expected: ['/d/token', '/f/token', '/e/token', '/flag/token'],
    read: (c) => c.tokenFile,
  },
  { key: 'cxProfile', layers: ['d', 'f', 'e', 'flag'], expected: ['d', 'f', 'e', 'flag'], read: (c) => c.cxProfile },
  { key: 'logLevel', layers: ['trace', 'debug', 'warn', 'error'], expected: ['trace', 'debug', 'warn', 'error'], read: (c) => c.logLevel },
  { key: 'connectTimeout', layers: ['100ms', '2s', '3s', '400ms'], expected: [100, 2_000, 3_000, 400], read: (c) => c.connectTimeoutMs },
  { key: 'responseTimeout', layers: ['1m', '2s', '500ms', '7s'], expected: [60_000, 2_000, 500, 7_000], read: (c) => c.responseTimeoutMs },
  { key: 'idleTimeout', layers: ['1h', '20s', '30s', '40s'], expected: [3_600_000, 20_000, 30_000, 40_000], read: (c) => c.idleTimeoutMs },
  { key: 'shutdownGrace', layers: ['1s', '2s', '300ms', 4000], expected: [1_000, 2_000, 300, 4_000], read: (c) => c.shutdownGraceMs },
  { key: 'readOnly', layers: [false, true, 'false', true], expected: [false, true, false, true], read: (c) => c.readOnly },
  {
    key: 'denyPaths',
    layers: [['/a'], ['/b'], '/c,/d', ['/e']],
    expected: [['/a'], ['/b'], ['/c', '/d'], ['/e']],
    read: (c) => c.denyRules.map((r) => r.source),
  },
  {
    key: 'allowedHosts',
    layers: [['d.test'], ['f.test'], 'E.test', ['flag.test']],
    expected: [['d.test'], ['f.test'], ['e.test'], ['flag.test']],
    read: (c) => [...c.allowedHosts],
  },
  // Numeric uids: resolving names asks the machine's user database, which differs between machines.
  { key: 'allowUsers', layers: [['0'], ['1'], '2,3', ['4']], expected: [[0], [1], [2, 3], [4]], read: (c) => [...c.allowedUids] },
  { key: 'unsafeListenAny', layers: [false, true, 'no', true], expected: [false, true, false, true], read: (c) => c.unsafeListenAny },
  { key: 'unsafeHttpUpstream', layers: [false, true, '0', true], expected: [false, true, false, true], read: (c) => c.unsafeHttpUpstream },
  { key: 'maxHeaderBytes', layers: [1000, 2000, '3000', 4000], expected: [1000, 2000, 3000, 4000], read: (c) => c.maxHeaderBytes },
  { key: 'replayBodyLimit', layers: [10, 20, '30', 40], expected: [10, 20, 30, 40], read: (c) => c.replayBodyLimitBytes },
  { key: 'requestBodyTimeout', layers: ['1s', '2s', '3s', '4s'], expected: [1_000, 2_000, 3_000, 4_000], read: (c) => c.requestBodyTimeoutMs },
  { key: 'minUploadRate', layers: [10, 20, '30', 40], expected: [10, 20, 30, 40], read: (c) => c.minUploadRate },
  { key: 'inspectBodyLimit', layers: [10, 20, '30', 40], expected: [10, 20, 30, 40], read: (c) => c.inspectBodyLimitBytes },
  { key: 'upstreamMaxSockets', layers: [1, 2, '3', 4], expected: [1, 2, 3, 4], read: (c) => c.upstreamMaxSockets },
  { key: 'upstreamBudget', layers: ['10/h', '20', '30/h', 'off'], expected: [10, 20, 30, undefined], read: (c) => c.upstreamBudget },
  { key: 'coalesce', layers: ['on', 'off', 'on', 'off'], expected: [true, false, true, false], read: (c) => c.coalesce },
  { key: 'cacheTtl', layers: ['1s', '2s', 'off', '4s'], expected: [1_000, 2_000, 0, 4_000], read: (c) => c.cacheTtlMs },
  { key: 'cacheMaxBytes', layers: [10, 20, '30', 40], expected: [10, 20, 30, 40], read: (c) => c.cacheMaxBytes },
  {
    key: 'upstreamKeepAliveTimeout',
    layers: ['55s', '1m', '30s', '500ms'],
    expected: [55_000, 60_000, 30_000, 500],
    read: (c) => c.upstreamKeepAliveTimeoutMs,
  },
  { key: 'clientId', layers: ['d-id', 'f-id', 'e-id', 'flag-id'], expected: ['d-id', 'f-id', 'e-id', 'flag-id'], read: (c) => c.oauth.clientId },
  { key: 'clientAuth', layers: ['body', 'basic', 'body', 'basic'], expected: ['body', 'basic', 'body', 'basic'], read: (c) => c.oauth.clientAuth },
  {
    key: 'scopes',
    layers: ['public', 'public redeploy', 'admin', 'public jobs'],
    expected: ['public', 'public redeploy', 'admin', 'public jobs'],
    read: (c) => c.oauth.scopes,
  },
  {
    key: 'publicUrl',
    layers: ['http://127.0.0.1:1', 'https://f.example', 'https://e.example', 'https://flag.example'],
    expected: ['http://127.0.0.1:1', 'https://f.example', 'https://e.example', 'https://flag.example'],
    read: (c) => c.publicUrl.origin,
  },
  {
    key: 'dataDir',
    layers: ['/d/data', '/f/data', '/e/data', '/flag/data'],
    expected: ['/d/data', '/f/data', '/e/data', '/flag/data'],
    read: (c) => c.dataDir,
  },
  { key: 'refreshSkew', layers: ['1s', '2s', '3s', '4s'], expected: [1_000, 2_000, 3_000, 4_000], read: (c) => c.refreshSkewMs },
  { key: 'oauthTimeout', layers: ['1s', '2s', '3s', '4s'], expected: [1_000, 2_000, 3_000, 4_000], read: (c) => c.oauth.timeoutMs },
  {
    key: 'store',
    layers: ['file', 'redis://d.test:6379', 'redis://e.test:6379', 'rediss://f.test:6380'],
    expected: ['file', 'redis://d.test:6379', 'redis://e.test:6379', 'rediss://f.test:6380'],
    read: (c) => (c.store.kind === 'redis' ? c.store.url : 'file'),
  },
  { key: 'storeOutageGrace', layers: ['1s', '2s', '3s', '4s'], expected: [1_000, 2_000, 3_000, 4_000], read: (c) => c.gateway.storeOutageGraceMs },
  // Existing files, since TLS files are checked: the test's own source files stand in for PEM files.
  {
    key: 'tlsCert',
    layers: ['package.json', 'tsconfig.json', 'README.md', 'LICENSE'],
    expected: ['package.json', 'tsconfig.json', 'README.md', 'LICENSE'],
    read: (c) => c.gateway.tls?.certFile,
  },
  {
    key: 'tlsKey',
    layers: ['package.json', 'tsconfig.json', 'README.md', 'LICENSE'],
    expected: ['package.json', 'tsconfig.json', 'README.md', 'LICENSE'],
    read: (c) => c.gateway.tls?.keyFile,
  },
  {
    key: 'trustedProxies',
    layers: [['10.0.0.0/8'], ['10.1.0.0/16'], '10.2.0.0/16,10.3.0.1', ['::1']],
    expected: [['10.0.0.0/8'], ['10.1.0.0/16'], ['10.2.0.0/16', '10.3.0.1'], ['::1']],
    read: (c) => [...c.gateway.trustedProxyCidrs],
  },
  {
    key: 'trustedIdentityHeader',
    layers: ['X-D', 'X-F', 'X_E', 'X-Flag'],
    expected: ['x-d', 'x-f', 'x-e', 'x-flag'],
    read: (c) => c.gateway.trustedIdentityHeader,
  },
  {
    key: 'admins',
    layers: [['cloud66:1'], ['cloud66:2'], 'cloud66:3,ops@x', ['cloud66:4']],
    expected: [['cloud66:1'], ['cloud66:2'], ['cloud66:3', 'ops@x'], ['cloud66:4']],
    read: (c) => [...c.gateway.admins],
  },
  { key: 'memberRate', layers: ['1/s', '2/m', '3/h', '4/d'], expected: ['1/s', '2/m', '3/h', '4/d'], read: (c) => c.gateway.memberRate.text },
  {
    key: 'gatewayDenyPaths',
    layers: [['/a'], ['/b'], '/c,?d', ['/e']],
    expected: [['/a'], ['/b'], ['/c', '?d'], ['/e']],
    read: (c) => c.gateway.denyRules.map((r) => r.source),
  },
  {
    key: 'auditLog',
    layers: ['/d/audit', '/f/audit', '-', '/flag/audit'],
    expected: ['/d/audit', '/f/audit', '-', '/flag/audit'],
    read: (c) => c.gateway.auditLog,
  },
  { key: 'auditAll', layers: [false, true, 'false', true], expected: [false, true, false, true], read: (c) => c.gateway.auditAll },
  { key: 'replicaId', layers: ['d', 'f', 'e', 'flag'], expected: ['d', 'f', 'e', 'flag'], read: (c) => c.gateway.replicaId },
  { key: 'sessionTtl', layers: ['1h', '2h', '3h', '4h'], expected: [3_600_000, 7_200_000, 10_800_000, 14_400_000], read: (c) => c.gateway.sessionTtlMs },
  { key: 'loginRate', layers: ['1/s', '2/m', '3/h', '4/d'], expected: ['1/s', '2/m', '3/h', '4/d'], read: (c) => c.gateway.loginRate.text },
  { key: 'memberConcurrency', layers: [1, 2, '3', 4], expected: [1, 2, 3, 4], read: (c) => c.gateway.memberConcurrency },
  { key: 'maxClientConnections', layers: [1, 2, '3', 4], expected: [1, 2, 3, 4], read: (c) => c.gateway.maxClientConnections },
]

// The client secret is read from a file named by a setting, so its precedence row reads the file's secret.
test('clientSecretFile: a flag beats the environment, which beats the --config file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'c66-precedence-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const files = ['file', 'env', 'flag'].map((name) => {
    const path = join(dir, name)
    writeFileSync(path, `secret-from-${name}\n`)
    return path
  })
  const configFile = join(dir, 'config.json')
  writeFileSync(configFile, JSON.stringify({ clientSecretFile: files[0] }))
  const read = (flags: Record<string, unknown>, env: Record<string, string>) =>
    loadConfig({ flags: { config: configFile, ...flags }, env: { HOME: dir, ...env } }).oauth.clientSecret?.reveal()
  t.is(read({}, {}), 'secret-from-file')
  t.is(read({}, { C66_CLIENT_SECRET_FILE: files[1] as string }), 'secret-from-env')
  t.is(read({ clientSecretFile: files[2] }, { C66_CLIENT_SECRET_FILE: files[1] as string }), 'secret-from-flag')
})

const SHIPPED_DEFAULTS = JSON.parse(readFileSync(new URL('../../config/default.json', import.meta.url), 'utf8')) as Record<string, unknown>

function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'c66-precedence-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

test('every setting except the single-valued mode has a precedence row', (t) => {
  const covered = new Set(ROWS.map((r) => r.key))
  t.deepEqual(
    SETTINGS.map((s) => s.key).filter((k) => !covered.has(k)),
    ['mode', 'clientSecretFile', 'redisOptions'],
  )
})

for (const row of ROWS) {
  test(`${row.key}: a flag beats the environment, which beats the --config file, which beats the defaults file`, (t) => {
    const setting = SETTINGS.find((s) => s.key === row.key)
    if (!setting) throw new Error(`no setting ${row.key}`)
    const dir = tempDir(t)
    const [dflt, fromFile, fromEnv, fromFlag] = row.layers
    const defaultsFile = join(dir, 'default.json')
    // The real defaults with this row's setting changed: every other setting keeps its default.
    writeFileSync(defaultsFile, JSON.stringify({ ...SHIPPED_DEFAULTS, [row.key]: dflt }))
    const configFile = join(dir, 'config.json')
    writeFileSync(configFile, JSON.stringify({ [row.key]: fromFile }))

    const load = (layers: number) =>
      row.read(
        loadConfig({
          defaultsFile,
          flags: { ...(layers >= 2 ? { config: configFile } : {}), ...(layers >= 4 ? { [row.key]: fromFlag } : {}) },
          env: { HOME: dir, ...(layers >= 3 ? { [setting.env]: fromEnv } : {}) },
        }),
      )
    t.deepEqual(load(4), row.expected[3], 'flag')
    t.deepEqual(load(3), row.expected[2], 'environment')
    t.deepEqual(load(2), row.expected[1], '--config file')
    t.deepEqual(load(1), row.expected[0], 'defaults file')
  })
}

test('the config file can also be named by C66_PROXY_CONFIG, and --config wins over it', (t) => {
  const dir = tempDir(t)
  const a = join(dir, 'a.json')
  const b = join(dir, 'b.json')
  writeFileSync(a, JSON.stringify({ connectTimeout: '1s' }))
  writeFileSync(b, JSON.stringify({ connectTimeout: '2s' }))
  t.is(loadConfig({ flags: {}, env: { HOME: dir, C66_PROXY_CONFIG: a } }).connectTimeoutMs, 1_000)
  t.is(loadConfig({ flags: { config: b }, env: { HOME: dir, C66_PROXY_CONFIG: a } }).connectTimeoutMs, 2_000)
})

test('an empty environment variable does not hide the config file below it', (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'c.json')
  writeFileSync(file, JSON.stringify({ listen: '127.0.0.1:7010' }))
  const config = loadConfig({ flags: { config: file }, env: { HOME: dir, C66_PROXY_LISTEN: '' } })
  t.deepEqual({ ...config.listen }, { host: '127.0.0.1', port: 7010 })
})

test('the shipped config/default.json gives the documented defaults', (t) => {
  const dir = tempDir(t)
  const config = loadConfig({ flags: {}, env: { HOME: dir } })
  t.like(config, {
    mode: 'local',
    listen: { host: '127.0.0.1', port: 8066 },
    logLevel: 'info',
    connectTimeoutMs: 5_000,
    responseTimeoutMs: 60_000,
    idleTimeoutMs: 120_000,
    shutdownGraceMs: 10_000,
    readOnly: false,
    unsafeListenAny: false,
    unsafeHttpUpstream: false,
    tokenFile: undefined,
    cxProfile: undefined,
    cxHome: join(dir, '.cloud66'),
  })
  t.is(config.upstream.origin, 'https://app.cloud66.com')
  t.deepEqual([...config.denyRules], [])
})

test('durations accept milliseconds, seconds, minutes and bare numbers', (t) => {
  const dir = tempDir(t)
  const cases: Array<[string, number]> = [
    ['500ms', 500],
    ['5s', 5_000],
    ['1.5s', 1_500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['250', 250],
  ]
  for (const [text, ms] of cases) {
    t.is(loadConfig({ flags: { connectTimeout: text }, env: { HOME: dir } }).connectTimeoutMs, ms, text)
  }
})

test('plain http:// upstreams are accepted for loopback hosts only, unless --unsafe-http-upstream is given', (t) => {
  const dir = tempDir(t)
  const load = (upstream: string, unsafe = false) => loadConfig({ flags: { upstream, ...(unsafe ? { unsafeHttpUpstream: true } : {}) }, env: { HOME: dir } })
  for (const ok of ['http://127.0.0.1:8067', 'http://localhost:8067', 'http://[::1]:8067', 'http://127.9.9.9']) {
    t.is(load(ok).upstream.origin, new URL(ok).origin, ok)
  }
  for (const bad of ['http://app.cloud66.com', 'http://127.0.0.1.nip.io', 'http://10.0.0.1:8067']) {
    const error = t.throws(() => load(bad), undefined, bad)
    t.regex(error?.message ?? '', /--upstream \/ C66_PROXY_UPSTREAM: plain http:\/\//, bad)
    t.is(load(bad, true).upstream.origin, new URL(bad).origin, `${bad} with --unsafe-http-upstream`)
  }
})

// Redis options only exist with a Redis store, so their row sets the store too.
test('redisOptions: a flag beats the environment, and a broken JSON is a problem that does not echo it', (t) => {
  const read = (flags: Record<string, unknown>, env: Record<string, string>) => {
    const c = loadConfig({ flags: { store: 'redis://127.0.0.1:6379', ...flags }, env: { HOME: '/nonexistent', ...env } })
    return c.store.kind === 'redis' ? c.store.options['db'] : undefined
  }
  t.is(read({}, { C66_PROXY_REDIS_OPTIONS: '{"db":3}' }), 3)
  t.is(read({ redisOptions: '{"db":4}' }, { C66_PROXY_REDIS_OPTIONS: '{"db":3}' }), 4)
  const err = t.throws(() => read({ redisOptions: '{"password":"canary-redis-pw"' }, {}))
  t.regex(err?.message ?? '', /--redis-options/)
  t.false((err?.message ?? '').includes('canary-redis-pw'))
})
