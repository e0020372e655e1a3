import { existsSync } from 'node:fs'
import { BlockList, isIP } from 'node:net'
import { hostname } from 'node:os'
import { ConfigError, type ConfigProblem } from '../errors.js'
import type { Secret } from '../secret.js'
import { parseSecret } from '../store/keys.js'
import { parseRate } from './rate.js'
import { compileSettingRules } from './rule-settings.js'
import { settingName, SETTINGS } from './settings.js'
import type { GatewayConfig, Rate } from './types.js'
import type { SettingValues } from './values.js'

/** COUNT/UNIT, or a problem (and the default's value, so that every problem is found in one pass). */
function readRate(values: SettingValues, key: string, example: string, problems: ConfigProblem[]): Rate {
  const text = values.text(key)
  const rate = parseRate(text)
  if (rate) return rate
  problems.push({ setting: named(key), message: `${JSON.stringify(text)} is not COUNT/UNIT (e.g. ${example})` })
  return { points: 1, durationSeconds: 1, text }
}

const named = (key: string) => {
  const s = SETTINGS.find((x) => x.key === key)
  return s ? settingName(s) : key
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
  values: SettingValues,
  mode: 'local' | 'gateway',
  env: Readonly<Record<string, string | undefined>>,
  clientSecret: Secret | undefined,
  problems: ConfigProblem[],
): GatewayConfig {
  const certFile = values.optionalText('tlsCert')
  const keyFile = values.optionalText('tlsKey')
  const trustedProxies = values.list('trustedProxies')
  const publicUrl = values.optionalUrl('publicUrl')
  const memberRate = readRate(values, 'memberRate', '2700/h, 5/m', problems)
  const loginRate = readRate(values, 'loginRate', '20/m', problems)
  const trusted = trustedProxyList(trustedProxies)
  if (typeof trusted === 'string') problems.push({ setting: named('trustedProxies'), message: `${JSON.stringify(trusted)} is not an IP address or CIDR` })
  const denyRules = compileSettingRules(values.list('gatewayDenyPaths'), named('gatewayDenyPaths'), problems)
  if (mode === 'gateway' && (certFile === undefined) !== (keyFile === undefined))
    problems.push({ setting: `${named('tlsCert')} and ${named('tlsKey')}`, message: 'give both, or neither' })
  for (const [key, file] of [
    ['tlsCert', certFile],
    ['tlsKey', keyFile],
  ] as const) {
    if (file !== undefined && !existsSync(file)) problems.push({ setting: named(key), message: `${file} does not exist` })
  }
  const identityHeader = values.optionalText('trustedIdentityHeader')?.toLowerCase().replace(/_/g, '-')

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
    if (values.optionalText('clientId') === undefined)
      problems.push({ setting: named('clientId'), message: 'gateway mode needs your OAuth application: members log in with it' })
    if (clientSecret === undefined)
      problems.push({ setting: 'C66_CLIENT_SECRET / --client-secret-file', message: 'gateway mode needs the OAuth client secret' })
    const inline = env['C66_PROXY_SECRET']?.trim()
    const file = env['C66_PROXY_SECRET_FILE']?.trim()
    if (!inline && !file) {
      problems.push({
        setting: 'C66_PROXY_SECRET / C66_PROXY_SECRET_FILE',
        message: 'gateway mode needs a secret key of at least 32 random bytes (hex or base64); `c66-proxy secret generate` prints one',
      })
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
    trustedProxies: typeof trusted === 'string' ? new BlockList() : trusted,
    trustedProxyCidrs: trustedProxies,
    trustedIdentityHeader: identityHeader,
    admins: values.list('admins'),
    memberRate,
    loginRate,
    // A quarter of the pool: one member holding slow requests leaves the rest to everyone else.
    memberConcurrency: values.optionalNumber('memberConcurrency') ?? Math.max(1, Math.floor(values.number('upstreamMaxSockets') / 4)),
    maxClientConnections: values.number('maxClientConnections'),
    denyRules,
    auditLog: values.optionalText('auditLog') ?? '',
    auditAll: values.flag('auditAll'),
    replicaId: values.optionalText('replicaId') ?? hostname(),
    storeOutageGraceMs: values.number('storeOutageGrace'),
    sessionTtlMs: values.number('sessionTtl'),
  }
}
