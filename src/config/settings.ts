/**
 * Every setting of the proxy, in one table: its config-file key, flag, environment variable
 * and kind. The CLI flags, the loader and the README's table are all derived from it, so a
 * setting cannot exist in one place and be missing from another.
 */
export type SettingKind = 'string' | 'bool' | 'int' | 'duration' | 'list' | 'listen' | 'url' | 'enum'

export interface Setting {
  /** Key in `config/default.json` and in a `--config` file; also commander's attribute name. */
  readonly key: string
  readonly flag: string
  readonly env: string
  readonly kind: SettingKind
  readonly description: string
  readonly choices?: readonly string[]
  /** Never echo the value of this setting in a message. */
  readonly secret?: boolean
}

export const SETTINGS: readonly Setting[] = [
  { key: 'mode', flag: '--mode', env: 'C66_PROXY_MODE', kind: 'enum', choices: ['local'], description: 'Deployment mode. Only `local` (one user on one machine) exists so far.' },
  { key: 'listen', flag: '--listen', env: 'C66_PROXY_LISTEN', kind: 'listen', description: 'HOST:PORT to listen on. Loopback only unless --unsafe-listen-any.' },
  { key: 'upstream', flag: '--upstream', env: 'C66_PROXY_UPSTREAM', kind: 'url', description: 'Cloud 66 origin; requests go to <upstream>/api/3/…. https:// only, except loopback hosts or --unsafe-http-upstream.' },
  { key: 'tokenFile', flag: '--token-file', env: 'C66_PROXY_TOKEN_FILE', kind: 'string', description: 'A file holding a raw Cloud 66 token (or a cx token JSON). Re-read when it changes.' },
  { key: 'cxProfile', flag: '--cx-profile', env: 'C66_PROXY_CX_PROFILE', kind: 'string', description: "Use the token file of this cx toolbelt profile (from ~/.cloud66/cxprofiles.json) instead of ~/.cloud66/cx.json." },
  { key: 'logLevel', flag: '--log-level', env: 'C66_PROXY_LOG_LEVEL', kind: 'enum', choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], description: 'Log level of the JSON log on standard output.' },
  { key: 'connectTimeout', flag: '--connect-timeout', env: 'C66_PROXY_CONNECT_TIMEOUT', kind: 'duration', description: 'Give up connecting to Cloud 66 after this long (504).' },
  { key: 'responseTimeout', flag: '--response-timeout', env: 'C66_PROXY_RESPONSE_TIMEOUT', kind: 'duration', description: 'Give up waiting for the response headers after this long (504).' },
  { key: 'idleTimeout', flag: '--idle-timeout', env: 'C66_PROXY_IDLE_TIMEOUT', kind: 'duration', description: 'Abort a transfer that has been silent this long.' },
  { key: 'shutdownGrace', flag: '--shutdown-grace', env: 'C66_PROXY_SHUTDOWN_GRACE', kind: 'duration', description: 'On SIGTERM/SIGINT, let in-flight requests finish for this long.' },
  { key: 'readOnly', flag: '--read-only', env: 'C66_PROXY_READ_ONLY', kind: 'bool', description: 'Only GET and HEAD reach Cloud 66; everything else gets 403 read_only.' },
  { key: 'denyPaths', flag: '--deny-path', env: 'C66_PROXY_DENY_PATHS', kind: 'list', description: 'Comma-separated path rules to refuse (403 denied_by_policy), e.g. "/accounts/otp,POST /stacks/*/deployments".' },
  { key: 'allowedHosts', flag: '--allowed-hosts', env: 'C66_PROXY_ALLOWED_HOSTS', kind: 'list', description: 'Extra Host names accepted besides localhost, 127.0.0.1 and [::1] (DNS-rebinding guard).' },
  { key: 'unsafeListenAny', flag: '--unsafe-listen-any', env: 'C66_PROXY_UNSAFE_LISTEN_ANY', kind: 'bool', description: 'UNSAFE: allow a non-loopback listen address and non-loopback clients (e.g. inside a container).' },
  { key: 'unsafeHttpUpstream', flag: '--unsafe-http-upstream', env: 'C66_PROXY_UNSAFE_HTTP_UPSTREAM', kind: 'bool', description: 'UNSAFE: allow a plain http:// upstream that is not on loopback.' },
  { key: 'maxHeaderBytes', flag: '--max-header-bytes', env: 'C66_PROXY_MAX_HEADER_BYTES', kind: 'int', description: 'Largest request header block accepted; bigger gets 431.' },
  { key: 'replayBodyLimit', flag: '--replay-body-limit', env: 'C66_PROXY_REPLAY_BODY_LIMIT', kind: 'int', description: 'Request bodies up to this many bytes are buffered so a request can be replayed once after a 401.' },
  { key: 'upstreamMaxSockets', flag: '--upstream-max-sockets', env: 'C66_PROXY_UPSTREAM_MAX_SOCKETS', kind: 'int', description: 'Size of the keep-alive connection pool to Cloud 66.' },
]

/** `--config FILE` / `C66_PROXY_CONFIG`: a JSON file with any of the keys above. */
export const CONFIG_FILE_SETTING = { flag: '--config', env: 'C66_PROXY_CONFIG' } as const

export function settingName(s: Pick<Setting, 'flag' | 'env'>): string {
  return `${s.flag} / ${s.env}`
}
