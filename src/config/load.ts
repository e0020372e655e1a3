import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { isIP } from 'node:net'
import { isLoopbackHost } from '../net/loopback.js'
import { uidOf } from '../net/os-users.js'
import { ConfigError, type ConfigProblem } from '../errors.js'
import { Secret } from '../secret.js'
import { parseCxTokenJson } from '../formats/cx-token.js'
import { bearerTokenProblem } from '../formats/bearer-token.js'
import { NotATokenFile, readTokenFileSync } from '../formats/read-token-file.js'
import { parseDuration } from './duration.js'
import { CONFIG_FILE_SETTING, SETTINGS, settingName, type Setting } from './settings.js'
import { readGateway } from './gateway.js'
import { readStore } from './store-setting.js'
import { compileSettingRules } from './rule-settings.js'
import type { Config, ListenAddress, LogLevel } from './types.js'
import { SettingValues } from './values.js'

const DEFAULTS_FILE = new URL('../../config/default.json', import.meta.url)

export interface LoadInput {
  /** Parsed CLI flags, keyed by setting key (commander's attribute names). */
  readonly flags: Readonly<Record<string, unknown>>
  readonly env: Readonly<Record<string, string | undefined>>
  readonly defaultsFile?: URL | string
}

type Origin = 'flag' | 'env' | 'file' | 'default'
interface RawValue {
  readonly value: unknown
  readonly origin: Origin
}

/**
 * A config file must hold a JSON object. Checked by hand, as is each value below: the whole
 * configuration is a flat set of strings, numbers and booleans, and zod (used for the store's
 * records and the gateway's key requests, loaded when those are) costs ~7 MiB of idle RSS.
 */
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Reads `settings` with precedence flags > environment > config file > defaults, converting each
 * value and collecting every problem (a config file's unknown keys included). A value that does
 * not convert is reported and its default kept, so every problem is found in one pass.
 */
function readSettings(
  input: LoadInput,
  settings: readonly Setting[],
): { values: SettingValues; problems: ConfigProblem[]; raw: (s: Setting) => RawValue | undefined } {
  const problems: ConfigProblem[] = []
  const defaults = readJsonObject(input.defaultsFile ?? DEFAULTS_FILE, 'config/default.json', problems)
  const configPath = stringOrUndefined(input.flags['config']) ?? nonEmpty(input.env[CONFIG_FILE_SETTING.env])
  const file = configPath === undefined ? {} : readJsonObject(resolve(configPath), settingName(CONFIG_FILE_SETTING), problems)
  const known = new Set(SETTINGS.map((s) => s.key))
  for (const key of Object.keys(file)) {
    if (!known.has(key)) problems.push({ setting: `${configPath} (key "${key}")`, message: 'unknown setting' })
  }

  const raw = (s: Setting): RawValue | undefined => {
    if (input.flags[s.key] !== undefined) return { value: input.flags[s.key], origin: 'flag' }
    const fromEnv = nonEmpty(input.env[s.env])
    if (fromEnv !== undefined) return { value: fromEnv, origin: 'env' }
    if (file[s.key] !== undefined) return { value: file[s.key], origin: 'file' }
    if (defaults[s.key] !== undefined) return { value: defaults[s.key], origin: 'default' }
    return undefined
  }
  const values = new Map<string, unknown>()
  for (const s of settings) {
    const fallback = defaults[s.key] === undefined ? undefined : convert(s, defaults[s.key])
    if (fallback !== undefined) {
      if (fallback.ok) values.set(s.key, fallback.value)
      else problems.push({ setting: describe(s, 'default', configPath), message: fallback.message })
    }
    const r = raw(s)
    if (r === undefined || r.origin === 'default') continue
    const converted = convert(s, r.value)
    if (converted.ok) values.set(s.key, converted.value)
    else problems.push({ setting: describe(s, r.origin, configPath), message: converted.message })
  }
  return { values: new SettingValues(values, settings), problems, raw }
}

function storeOf(values: SettingValues, raw: (s: Setting) => RawValue | undefined, env: LoadInput['env'], problems: ConfigProblem[]): Config['store'] {
  return readStore(
    {
      store: values.text('store'),
      storeOrigin: raw(byKey('store'))?.origin,
      redisOptions: values.optionalText('redisOptions'),
      redisOptionsOrigin: raw(byKey('redisOptions'))?.origin,
      env,
    },
    problems,
  )
}

/** What the admin commands (members, keys) need: where the store is, how it is keyed, where they audit. */
export interface StoreConfig {
  readonly mode: Config['mode']
  readonly store: Config['store']
  readonly dataDir: string
  readonly secretEnv: Config['secretEnv']
  readonly auditLog: string
  readonly storeOutageGraceMs: number
  /** For the budgets `members list` shows. */
  readonly upstreamBudget: number | undefined
}

/** The settings StoreConfig is read from (and the only flags the admin commands offer). */
export const STORE_SETTING_KEYS = ['mode', 'store', 'redisOptions', 'dataDir', 'auditLog', 'storeOutageGrace'] as const
/** `members list` also shows each member's budget against --upstream-budget. */
export const MEMBER_LIST_SETTING_KEYS = [...STORE_SETTING_KEYS, 'upstreamBudget'] as const

/**
 * Only the store's settings, for operators' commands run where the gateway's other settings
 * (OAuth client, TLS, trusted proxies) are neither known nor needed, e.g. on a bastion host.
 */
export function loadStoreConfig(input: LoadInput): StoreConfig {
  const { values, problems, raw } = readSettings(
    input,
    SETTINGS.filter((s) => (MEMBER_LIST_SETTING_KEYS as readonly string[]).includes(s.key)),
  )
  const store = storeOf(values, raw, input.env, problems)
  const upstreamBudget = readBudget(values.text('upstreamBudget'), problems)
  if (problems.length > 0) throw new ConfigError(problems)
  const dataDir = dataDirOf(values, input.env)
  const secretEnv = secretEnvOf(input.env)
  return Object.freeze({
    mode: values.choice('mode', MODES),
    store,
    dataDir,
    secretEnv: () => secretEnv,
    auditLog: values.optionalText('auditLog') ?? join(dataDir, 'audit.log'),
    storeOutageGraceMs: values.number('storeOutageGrace'),
    upstreamBudget,
  })
}

const MODES = ['local', 'gateway'] as const

function dataDirOf(values: SettingValues, env: LoadInput['env']): string {
  const home = nonEmpty(env['HOME']) ?? homedir()
  return values.optionalText('dataDir') ?? join(nonEmpty(env['XDG_CONFIG_HOME']) ?? join(home, '.config'), 'c66-proxy')
}

function secretEnvOf(env: LoadInput['env']) {
  return Object.freeze({
    C66_PROXY_SECRET: env['C66_PROXY_SECRET'],
    C66_PROXY_SECRET_FILE: env['C66_PROXY_SECRET_FILE'],
    C66_PROXY_PREVIOUS_SECRETS: env['C66_PROXY_PREVIOUS_SECRETS'],
  })
}

/**
 * Builds the configuration with precedence flags > environment > config file > defaults,
 * collecting every problem before failing once. Secrets are never echoed in a message.
 */
export function loadConfig(input: LoadInput): Config {
  const { values, problems, raw } = readSettings(input, SETTINGS)

  const listen = values.listen('listen')
  const upstream = values.url('upstream')
  const unsafeListenAny = values.flag('unsafeListenAny')
  const unsafeHttpUpstream = values.flag('unsafeHttpUpstream')
  const mode = values.choice('mode', MODES)
  if (mode === 'local' && !unsafeListenAny && !isLoopbackHost(listen.host)) {
    problems.push({
      setting: settingName(byKey('listen')),
      message: `${listen.host} is not a loopback address; the proxy acts as you on Cloud 66, so it only listens on 127.0.0.1, ::1 or localhost (use --unsafe-listen-any to override)`,
    })
  }
  if (listen.socket !== undefined && mode !== 'local') {
    problems.push({ setting: settingName(byKey('listen')), message: 'unix:/PATH is for local mode; a gateway listens on HOST:PORT' })
  }
  const allowedUids = resolveUsers(values.list('allowUsers'), problems)
  const upstreamBudget = readBudget(values.text('upstreamBudget'), problems)
  const cacheTtlMs = readCacheTtl(values.text('cacheTtl'), problems)
  if (upstream.protocol === 'http:' && !unsafeHttpUpstream && !isLoopbackHost(upstream.hostname)) {
    problems.push({
      setting: settingName(byKey('upstream')),
      message: 'plain http:// would send your token in clear text; use https://, a loopback host, or --unsafe-http-upstream',
    })
  }

  // `--deny-path "$RULES"` with RULES unset: a security setting given with nothing but blanks in
  // it would silently deny nothing. (An empty list in a config file, like the default's, is deliberate.)
  const denyGiven = raw(byKey('denyPaths'))?.value
  const denyItems = typeof denyGiven === 'string' ? denyGiven.split(',') : Array.isArray(denyGiven) ? denyGiven : []
  if (denyItems.length > 0 && values.list('denyPaths').length === 0) {
    problems.push({
      setting: settingName(byKey('denyPaths')),
      message: 'is set but names no rule (an empty pattern denies nothing); give rules or leave it unset',
    })
  }
  const denyRules = compileSettingRules(values.list('denyPaths'), settingName(byKey('denyPaths')), problems)

  for (const entry of values.list('allowedHosts')) {
    if (!isHostEntry(entry)) {
      problems.push({
        setting: settingName(byKey('allowedHosts')),
        message: `"${entry}" is not a host name or HOST:PORT (an IPv6 address in brackets, e.g. [::1]:9000); it could never match a Host header`,
      })
    }
  }

  const scopes = values.text('scopes')
  if (!/^[a-z_]+( [a-z_]+)*$/.test(scopes)) {
    problems.push({
      setting: settingName(byKey('scopes')),
      message: 'must be scope names separated by single spaces (e.g. "public redeploy"); Cloud 66 does not accept commas',
    })
  }
  const clientSecret = readClientSecret(input.env, values.optionalText('clientSecretFile'), problems)

  const envTokens = readEnvTokens(input.env, problems)
  const store = storeOf(values, raw, input.env, problems)
  const gateway = readGateway(values, mode, input.env, clientSecret, problems)
  if (problems.length > 0) throw new ConfigError(problems)

  const home = nonEmpty(input.env['HOME']) ?? homedir()
  const dataDir = dataDirOf(values, input.env)
  const secretEnv = secretEnvOf(input.env)
  return Object.freeze({
    mode,
    store,
    gateway: Object.freeze({ ...gateway, auditLog: gateway.auditLog || join(dataDir, 'audit.log') }),
    listen,
    upstream,
    tokenFile: values.optionalText('tokenFile'),
    cxProfile: values.optionalText('cxProfile'),
    cxHome: join(home, '.cloud66'),
    logLevel: values.choice('logLevel', LOG_LEVELS),
    connectTimeoutMs: values.number('connectTimeout'),
    responseTimeoutMs: values.number('responseTimeout'),
    idleTimeoutMs: values.number('idleTimeout'),
    shutdownGraceMs: values.number('shutdownGrace'),
    readOnly: values.flag('readOnly'),
    denyRules,
    allowedHosts: Object.freeze(values.list('allowedHosts').map((h) => h.toLowerCase())),
    allowedUids,
    unsafeListenAny,
    unsafeHttpUpstream,
    maxHeaderBytes: values.number('maxHeaderBytes'),
    replayBodyLimitBytes: values.number('replayBodyLimit'),
    inspectBodyLimitBytes: values.number('inspectBodyLimit'),
    requestBodyTimeoutMs: values.number('requestBodyTimeout'),
    minUploadRate: values.number('minUploadRate'),
    upstreamMaxSockets: values.number('upstreamMaxSockets'),
    upstreamBudget,
    coalesce: values.choice('coalesce', ['on', 'off'] as const) === 'on',
    cacheTtlMs,
    cacheMaxBytes: values.number('cacheMaxBytes'),
    upstreamKeepAliveTimeoutMs: values.number('upstreamKeepAliveTimeout'),
    envTokens,
    oauth: Object.freeze({
      clientId: values.optionalText('clientId'),
      clientSecret,
      clientAuth: values.choice('clientAuth', CLIENT_AUTH),
      scopes,
      timeoutMs: values.number('oauthTimeout'),
    }),
    // The scheme actually served: a gateway with its own certificate is reached over https, and
    // its OAuth redirect URI must say so (the registered callback is https).
    publicUrl: values.optionalUrl('publicUrl') ?? defaultPublicUrl(listen, mode === 'gateway' && gateway.tls ? 'https' : 'http'),
    dataDir,
    refreshSkewMs: values.number('refreshSkew'),
    secretEnv: () => secretEnv,
  } satisfies Config)
}

const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']
const CLIENT_AUTH = ['body', 'basic'] as const

/**
 * The URL users reach the proxy at when --public-url is not set: the listen address, except that
 * a wildcard (0.0.0.0, ::; a container) is reached at 127.0.0.1, never at http://0.0.0.0, which
 * would become an OAuth redirect URI no browser should be sent to.
 */
function defaultPublicUrl(listen: ListenAddress, scheme: 'http' | 'https'): URL {
  const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host
  return new URL(`${scheme}://${host.includes(':') ? `[${host}]` : host}:${listen.port}`)
}

export function byKey(key: string): Setting {
  const s = SETTINGS.find((x) => x.key === key)
  if (!s) throw new Error(`unknown setting ${key}`)
  return s
}

function describe(s: Setting, origin: Origin, configPath: string | undefined): string {
  const where = origin === 'file' ? ` (in ${configPath})` : origin === 'default' ? ' (in config/default.json)' : ''
  return `${settingName(s)}${where}`
}

type Converted = { ok: true; value: unknown } | { ok: false; message: string }

/** A positive integer, given as a number or a decimal string (flags and variables are strings). */
function positiveInt(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN
  return Number.isInteger(n) && n >= 1 && n <= 2 ** 31 ? n : undefined
}
const boolWords: Readonly<Record<string, boolean>> = { '1': true, true: true, yes: true, on: true, '0': false, false: false, no: false, off: false }

function convert(s: Setting, value: unknown): Converted {
  const shown = s.secret ? '(value hidden)' : JSON.stringify(value)
  switch (s.kind) {
    case 'string':
      return typeof value === 'string' && value.length > 0 ? { ok: true, value } : { ok: false, message: 'must be a non-empty string' }
    case 'bool': {
      if (typeof value === 'boolean') return { ok: true, value }
      const b = typeof value === 'string' ? boolWords[value.toLowerCase()] : undefined
      return b === undefined ? { ok: false, message: `${shown} is not a boolean (use true/false, 1/0, yes/no)` } : { ok: true, value: b }
    }
    case 'int': {
      const n = positiveInt(value)
      return n !== undefined ? { ok: true, value: n } : { ok: false, message: `${shown} is not a positive integer` }
    }
    case 'duration': {
      const ms = typeof value === 'string' || typeof value === 'number' ? parseDuration(value) : undefined
      return ms === undefined || ms <= 0 ? { ok: false, message: `${shown} is not a duration (e.g. 500ms, 5s, 2m)` } : { ok: true, value: ms }
    }
    case 'list': {
      const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined
      if (!items || !items.every((i): i is string => typeof i === 'string'))
        return { ok: false, message: 'must be a comma-separated list or an array of strings' }
      return { ok: true, value: items.map((i) => i.trim()).filter((i) => i.length > 0) }
    }
    case 'enum':
      return typeof value === 'string' && s.choices?.includes(value)
        ? { ok: true, value }
        : { ok: false, message: `${shown} is not one of ${s.choices?.join(', ')}` }
    case 'listen':
      return parseListen(value, shown)
    case 'url':
      return parseUpstream(value, shown)
  }
}

/** --upstream-budget: `3000/h`, `3000`, or `off`; Cloud 66's budget is hourly, so no other unit. */
function readBudget(text: string, problems: ConfigProblem[]): number | undefined {
  if (text.trim().toLowerCase() === 'off') return undefined
  const m = /^\s*(\d{1,9})\s*(?:\/\s*h)?\s*$/i.exec(text)
  if (m?.[1] !== undefined && Number(m[1]) > 0) return Number(m[1])
  problems.push({
    setting: settingName(byKey('upstreamBudget')),
    message: `${JSON.stringify(text.slice(0, 40))} is not COUNT/h (e.g. 3000/h) or off; Cloud 66 counts per clock hour`,
  })
  return 3000
}

/** --cache-ttl: a duration, or `off` (0). */
function readCacheTtl(text: string, problems: ConfigProblem[]): number {
  if (text.trim().toLowerCase() === 'off') return 0
  const ms = parseDuration(text)
  if (ms !== undefined && ms > 0 && ms <= 3_600_000) return ms
  problems.push({ setting: settingName(byKey('cacheTtl')), message: `${JSON.stringify(text.slice(0, 40))} is not a duration up to 1h (e.g. 5s) or off` })
  return 0
}

/** --allow-users: each name or uid must be a user of this machine, or the setting would share nothing. */
function resolveUsers(users: readonly string[], problems: ConfigProblem[]): readonly number[] {
  const uids: number[] = []
  for (const user of users) {
    const uid = uidOf(user)
    if (uid === undefined) problems.push({ setting: settingName(byKey('allowUsers')), message: `"${user.slice(0, 64)}" is not a user of this machine` })
    else uids.push(uid)
  }
  return Object.freeze(uids)
}

/** The longest socket path Linux takes (sun_path is 108 bytes with its terminating NUL). */
const MAX_SOCKET_PATH = 107

function parseListen(value: unknown, shown: string): Converted {
  if (typeof value !== 'string') return { ok: false, message: 'must be HOST:PORT' }
  if (value.startsWith('unix:')) {
    const path = resolve(value.slice('unix:'.length))
    if (value.length === 'unix:'.length) return { ok: false, message: 'unix: needs a path (e.g. unix:/run/user/1000/c66-proxy/sock)' }
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH)
      return { ok: false, message: `the socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes, the most a unix socket address holds` }
    // Callers reach it as `curl --unix-socket PATH http://localhost/...`: Host: localhost, port 80.
    return { ok: true, value: { host: 'localhost', port: 80, socket: path } satisfies ListenAddress }
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value)
  const port = m ? Number(m[3]) : NaN
  if (!m || port > 65535) return { ok: false, message: `${shown} is not HOST:PORT (e.g. 127.0.0.1:8066 or [::1]:8066) or unix:/PATH` }
  const host = (m[1] ?? m[2] ?? '').toLowerCase()
  if (m[1] !== undefined && isIP(host) !== 6) return { ok: false, message: `${shown} has an invalid IPv6 address` }
  return { ok: true, value: { host, port } satisfies ListenAddress }
}

function parseUpstream(value: unknown, shown: string): Converted {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    return { ok: false, message: `${shown} is not a URL` }
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, message: 'must be an http:// or https:// URL' }
  if (url.username || url.password) return { ok: false, message: 'must not contain credentials' }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    return { ok: false, message: 'must be an origin only, with no path (e.g. https://app.cloud66.com)' }
  }
  return { ok: true, value: new URL(url.origin) }
}

/**
 * An `--allowed-hosts` entry: a DNS name or IPv4 address, or an IPv6 address in brackets, with an
 * optional port. Anything else (a URL, a wildcard, a bare IPv6 address) can never equal a Host
 * header, so it would silently allow nothing.
 */
function isHostEntry(entry: string): boolean {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?))(?::(\d{1,5}))?$/.exec(entry)
  if (!m) return false
  if (m[1] !== undefined && isIP(m[1]) !== 6) return false
  return m[3] === undefined || (Number(m[3]) >= 1 && Number(m[3]) <= 65535)
}

function readEnvTokens(env: LoadInput['env'], problems: ConfigProblem[]): Config['envTokens'] {
  const access = nonEmpty(env['CLOUD66_ACCESS_TOKEN']?.trim())
  const encoded = nonEmpty(env['CLOUD66_TOKEN']?.trim())
  let cxToken: Secret | undefined
  if (encoded !== undefined) {
    try {
      cxToken = new Secret(parseCxTokenJson(Buffer.from(encoded, 'base64').toString('utf8')))
    } catch (err) {
      problems.push({ setting: 'CLOUD66_TOKEN', message: `must be base64 of the cx token file JSON (cx dump-token | base64): ${(err as Error).message}` })
    }
  }
  // The same check as every other token source: a line break in the variable would make Node
  // refuse the Authorization header, a 500 on every call, so it is refused here with the reason.
  const problem = access === undefined ? undefined : bearerTokenProblem(access)
  if (problem !== undefined) problems.push({ setting: 'CLOUD66_ACCESS_TOKEN', message: problem })
  return { accessToken: access === undefined || problem !== undefined ? undefined : new Secret(access), cxToken }
}

/** C66_CLIENT_SECRET or C66_CLIENT_SECRET_FILE (never a flag: argv is visible to every user in ps). */
function readClientSecret(env: LoadInput['env'], file: string | undefined, problems: ConfigProblem[]): Secret | undefined {
  const inline = nonEmpty(env['C66_CLIENT_SECRET']?.trim())
  if (inline !== undefined && file !== undefined) {
    problems.push({ setting: 'C66_CLIENT_SECRET / --client-secret-file', message: 'set the client secret one way only' })
    return undefined
  }
  if (inline !== undefined) return new Secret(inline)
  if (file === undefined) return undefined
  try {
    const text = readTokenFileSync(file).trim()
    if (text === '') throw Object.assign(new Error('empty'), { code: 'empty' })
    return new Secret(text)
  } catch (err) {
    const why = err instanceof NotATokenFile ? err.message : `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`
    problems.push({ setting: '--client-secret-file / C66_CLIENT_SECRET_FILE', message: `${file} ${why}` })
    return undefined
  }
}

function readJsonObject(path: URL | string, name: string, problems: ConfigProblem[]): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    problems.push({ setting: name, message: `cannot read ${String(path)} (${(err as NodeJS.ErrnoException).code ?? 'error'})` })
    return {}
  }
  try {
    const parsed: unknown = JSON.parse(text)
    if (isObject(parsed)) return parsed
    problems.push({ setting: name, message: 'must hold a JSON object' })
  } catch {
    problems.push({ setting: name, message: `${String(path)} is not valid JSON` })
  }
  return {}
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}
