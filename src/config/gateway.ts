import { existsSync } from 'node:fs'
import { BlockList, isIP } from 'node:net'
import { hostname } from 'node:os'
import { ConfigError, type ConfigProblem } from '../errors.js'
import type { Secret } from '../secret.js'
import { compileRule } from '../proxy/policy.js'
import { parseSecret } from '../store/keys.js'
import { parseRate } from './rate.js'
import { settingName, SETTINGS } from './settings.js'
import type { GatewayConfig } from './types.js'

type Get = <T>(key: string, fallback: T) => T

const named = (key: string) => {
  const s = SETTINGS.find((x) => x.key === key)
  return s ? settingName(s) : key
}

/** `file`, or a redis:// / rediss:// URL. */
export function parseStore(value: string, optionsJson: string | undefined, problems: ConfigProblem[]): { kind: 'file' } | { kind: 'redis'; url: string; options: Record<string, unknown> } {
  if (value === 'file') return { kind: 'file' }
  let options: Record<string, unknown> = {}
  if (optionsJson !== undefined) {
    try {
      const parsed: unknown = JSON.parse(optionsJson)
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object')
      options = parsed as Record<string, unknown>
    } catch {
      // Not echoed: the options may hold a Sentinel password.
      problems.push({ setting: named('redisOptions'), message: 'must be a JSON object of ioredis options' })
    }
  }
  try {
    const url = new URL(value)
    if (url.protocol === 'redis:' || url.protocol === 'rediss:') return { kind: 'redis', url: value, options }
  } catch {
    // reported below without echoing the value: a Redis URL may carry a password
  }
  problems.push({ setting: named('store'), message: 'must be `file` or a redis:// or rediss:// URL' })
  return { kind: 'file' }
}

/** A BlockList of the trusted proxies, or the first invalid entry. */
export function trustedProxyList(cidrs: readonly string[]): BlockList | string {
  const list = new BlockList()
  for (const cidr of cidrs) {
    const [address = '', prefix] = cidr.split('/')
    const family = isIP(address)
    if (family === 0) return cidr
    const type = family === 6 ? 'ipv6' : 'ipv4'
    if (prefix === undefined) list.addAddress(address, type)
    else {
      const bits = Number(prefix)
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 6 ? 128 : 32)) return cidr
      list.addSubnet(address, bits, type)
    }
  }
  return list
}

/**
 * The team gateway's settings. In gateway mode every missing requirement is reported at once:
 * TLS (its own, or a TLS-terminating front with an https public URL and trusted proxies), the
 * OAuth client, and the store secret. Secret values are never echoed.
 */
export function readGateway(
  get: Get,
  mode: 'local' | 'gateway',
  env: Readonly<Record<string, string | undefined>>,
  clientSecret: Secret | undefined,
  problems: ConfigProblem[],
): GatewayConfig {
  const certFile = get<string | undefined>('tlsCert', undefined)
  const keyFile = get<string | undefined>('tlsKey', undefined)
  const trustedProxies = get<string[]>('trustedProxies', [])
  const publicUrl = get<URL | undefined>('publicUrl', undefined)
  const rateText = get('memberRate', '2700/h')
  const memberRate = parseRate(rateText)
  if (!memberRate) problems.push({ setting: named('memberRate'), message: `${JSON.stringify(rateText)} is not COUNT/UNIT (e.g. 2700/h, 5/m)` })
  const loginRateText = get('loginRate', '20/m')
  const loginRate = parseRate(loginRateText)
  if (!loginRate) problems.push({ setting: named('loginRate'), message: `${JSON.stringify(loginRateText)} is not COUNT/UNIT (e.g. 20/m)` })
  const invalidCidr = trustedProxyList(trustedProxies)
  if (typeof invalidCidr === 'string') problems.push({ setting: named('trustedProxies'), message: `${JSON.stringify(invalidCidr)} is not an IP address or CIDR` })
  const denyPaths = get<string[]>('gatewayDenyPaths', [])
  for (const rule of denyPaths) {
    const compiled = compileRule(rule)
    if (typeof compiled === 'string') problems.push({ setting: named('gatewayDenyPaths'), message: compiled })
  }
  if (mode === 'gateway' && (certFile === undefined) !== (keyFile === undefined)) problems.push({ setting: `${named('tlsCert')} and ${named('tlsKey')}`, message: 'give both, or neither' })
  for (const [key, file] of [['tlsCert', certFile], ['tlsKey', keyFile]] as const) {
    if (file !== undefined && !existsSync(file)) problems.push({ setting: named(key), message: `${file} does not exist` })
  }
  const identityHeader = get<string | undefined>('trustedIdentityHeader', undefined)?.toLowerCase().replace(/_/g, '-')

  if (mode === 'gateway') {
    const ownTls = certFile !== undefined && keyFile !== undefined
    const behindFront = publicUrl?.protocol === 'https:' && trustedProxies.length > 0
    if (!ownTls && !behindFront) {
      problems.push({
        setting: `${named('tlsCert')} + ${named('tlsKey')}, or ${named('publicUrl')} (https) + ${named('trustedProxies')}`,
        message: 'gateway mode needs HTTPS: its own certificate, or a TLS-terminating front with an https:// public URL and its address in --trusted-proxies',
      })
    }
    if (ownTls && publicUrl !== undefined && publicUrl.protocol !== 'https:') {
      problems.push({ setting: named('publicUrl'), message: 'with --tls-cert the public URL must be https://' })
    }
    if (get<string | undefined>('clientId', undefined) === undefined) problems.push({ setting: named('clientId'), message: 'gateway mode needs your OAuth application: members log in with it' })
    if (clientSecret === undefined) problems.push({ setting: 'C66_CLIENT_SECRET / --client-secret-file', message: 'gateway mode needs the OAuth client secret' })
    const inline = env['C66_PROXY_SECRET']?.trim()
    const file = env['C66_PROXY_SECRET_FILE']?.trim()
    if (!inline && !file) {
      problems.push({ setting: 'C66_PROXY_SECRET / C66_PROXY_SECRET_FILE', message: 'gateway mode needs a secret key of at least 32 random bytes (hex or base64); `c66-proxy secret generate` prints one' })
    } else if (inline) {
      try {
        parseSecret(inline, 'C66_PROXY_SECRET')
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        problems.push(...err.problems)
      }
    }
    if (identityHeader !== undefined && trustedProxies.length === 0) {
      problems.push({ setting: named('trustedIdentityHeader'), message: 'an identity header is only believed from --trusted-proxies; set them too' })
    }
  }
  return {
    tls: certFile !== undefined || keyFile !== undefined ? { certFile: certFile ?? '', keyFile: keyFile ?? '' } : undefined,
    trustedProxies,
    trustedIdentityHeader: identityHeader,
    admins: get<string[]>('admins', []),
    memberRate: memberRate ?? { points: 2700, durationSeconds: 3600, text: '2700/h' },
    loginRate: loginRate ?? { points: 20, durationSeconds: 60, text: '20/m' },
    // A quarter of the pool: one member holding slow requests leaves the rest to everyone else.
    memberConcurrency: get<number | undefined>('memberConcurrency', undefined) ?? Math.max(1, Math.floor(get('upstreamMaxSockets', 64) / 4)),
    maxClientConnections: get('maxClientConnections', 64),
    denyPaths,
    auditLog: get<string>('auditLog', ''),
    auditAll: get('auditAll', false),
    replicaId: get<string | undefined>('replicaId', undefined) ?? hostname(),
    storeOutageGraceMs: get('storeOutageGrace', 60_000),
    sessionTtlMs: get('sessionTtl', 12 * 3_600_000),
  }
}

