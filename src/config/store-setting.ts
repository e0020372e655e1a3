import { NotATokenFile, readTokenFileSync } from '../formats/read-token-file.js'
import type { ConfigProblem } from '../errors.js'
import { settingName, SETTINGS } from './settings.js'
import type { Config } from './types.js'

/** Where a setting's value came from: only a flag is on the command line, which every user can read in `ps`. */
export type ValueOrigin = 'flag' | 'env' | 'file' | 'default'

const named = (key: string) => {
  const s = SETTINGS.find((x) => x.key === key)
  return s ? settingName(s) : key
}

const PASSWORD_ENV = 'C66_PROXY_REDIS_PASSWORD'
const PASSWORD_FILE_ENV = 'C66_PROXY_REDIS_PASSWORD_FILE'

/** ioredis options that are credentials, at the top level or in a Cluster's per-node options. */
const CREDENTIAL_OPTIONS = ['password', 'sentinelPassword']

export interface StoreInputs {
  readonly store: string
  readonly storeOrigin: ValueOrigin | undefined
  readonly redisOptions: string | undefined
  readonly redisOptionsOrigin: ValueOrigin | undefined
  readonly env: Readonly<Record<string, string | undefined>>
}

/**
 * `file`, or a redis:// / rediss:// URL with its ioredis options. Credentials come from the
 * environment (C66_PROXY_STORE, C66_PROXY_REDIS_PASSWORD, C66_PROXY_REDIS_OPTIONS), a file
 * (C66_PROXY_REDIS_PASSWORD_FILE, a --config file) or nowhere: a password given as a flag is
 * visible to every account on the machine in `ps` and /proc/PID/cmdline, so it is an error.
 * No message ever echoes a value.
 */
export function readStore(i: StoreInputs, problems: ConfigProblem[]): Config['store'] {
  if (i.store === 'file') return { kind: 'file' }
  let options: Record<string, unknown> = {}
  if (i.redisOptions !== undefined) {
    try {
      const parsed: unknown = JSON.parse(i.redisOptions)
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object')
      options = parsed as Record<string, unknown>
    } catch {
      problems.push({ setting: named('redisOptions'), message: 'must be a JSON object of ioredis options' })
    }
  }
  let url: URL | undefined
  try {
    url = new URL(i.store)
  } catch {
    // reported below without echoing the value: a Redis URL may carry a password
  }
  if (url === undefined || (url.protocol !== 'redis:' && url.protocol !== 'rediss:')) {
    problems.push({ setting: named('store'), message: 'must be `file` or a redis:// or rediss:// URL' })
    return { kind: 'file' }
  }
  if (i.storeOrigin === 'flag' && url.password !== '') {
    problems.push({
      setting: named('store'),
      message: `holds a password, which every user of this machine can read on the command line; give the URL in C66_PROXY_STORE, or the password in ${PASSWORD_ENV} or ${PASSWORD_FILE_ENV}`,
    })
  }
  if (i.redisOptionsOrigin === 'flag' && holdsCredential(options)) {
    problems.push({
      setting: named('redisOptions'),
      message: `holds a password, which every user of this machine can read on the command line; give the options in C66_PROXY_REDIS_OPTIONS, or the password in ${PASSWORD_ENV} or ${PASSWORD_FILE_ENV}`,
    })
  }
  const password = readPassword(i.env, problems)
  if (password !== undefined) {
    if (url.password !== '' || typeof options['password'] === 'string') {
      problems.push({ setting: PASSWORD_ENV, message: 'the Redis password is also given in the store URL or the Redis options; give it one way only' })
    }
    options = { ...options, password }
  }
  return { kind: 'redis', url: i.store, options }
}

function holdsCredential(options: Record<string, unknown>): boolean {
  if (CREDENTIAL_OPTIONS.some((k) => options[k] !== undefined)) return true
  // A Cluster's own options, and its nodes' (`"cluster": {"redisOptions": {"password": …}}`).
  const nested = [options['redisOptions'], options['cluster'], (options['cluster'] as Record<string, unknown> | undefined)?.['redisOptions']]
  return nested.some((o) => typeof o === 'object' && o !== null && holdsCredential(o as Record<string, unknown>))
}

function readPassword(env: StoreInputs['env'], problems: ConfigProblem[]): string | undefined {
  const inline = env[PASSWORD_ENV]
  const file = env[PASSWORD_FILE_ENV]
  if (inline !== undefined && inline !== '' && file !== undefined && file !== '') {
    problems.push({ setting: `${PASSWORD_ENV} / ${PASSWORD_FILE_ENV}`, message: 'set the Redis password one way only' })
    return undefined
  }
  if (inline !== undefined && inline !== '') return inline
  if (file === undefined || file === '') return undefined
  try {
    // One trailing newline is what `echo pw > file` and Kubernetes secrets leave; it is not part of the password.
    const text = readTokenFileSync(file).replace(/\r?\n$/, '')
    if (text === '') throw Object.assign(new Error('empty'), { code: 'empty' })
    return text
  } catch (err) {
    const why = err instanceof NotATokenFile ? err.message : `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`
    problems.push({ setting: PASSWORD_FILE_ENV, message: `${file} ${why}` })
    return undefined
  }
}
