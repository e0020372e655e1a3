import type { BlockList } from 'node:net'
import type { PathRule } from '../rules/path-rules.js'
import type { Secret } from '../secret.js'

import type { LogLevel } from '../log.js'

export type { LogLevel }

/** COUNT per UNIT, e.g. `2700/h`. */
export interface Rate {
  readonly points: number
  readonly durationSeconds: number
  readonly text: string
}

export interface ListenAddress {
  readonly host: string
  readonly port: number
  /**
   * `--listen unix:/path`: the socket to listen on instead. host and port then say how callers
   * address it (curl --unix-socket sends Host: localhost), not where it is.
   */
  readonly socket?: string
}

/** The validated, frozen configuration every part of the proxy is built from. */
export interface Config {
  readonly mode: 'local' | 'gateway'
  readonly listen: ListenAddress
  /** Origin of Cloud 66 (no path); the proxy always talks to `<upstream>/api/3`. */
  readonly upstream: URL
  readonly tokenFile: string | undefined
  readonly cxProfile: string | undefined
  /** The cx toolbelt's directory, `~/.cloud66`. */
  readonly cxHome: string
  readonly logLevel: LogLevel
  readonly connectTimeoutMs: number
  readonly responseTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly shutdownGraceMs: number
  readonly readOnly: boolean
  /** --deny-path, compiled (each rule keeps its source text). */
  readonly denyRules: readonly PathRule[]
  readonly allowedHosts: readonly string[]
  /** Local mode: the uids besides the proxy's own that may connect (--allow-users, resolved at start-up). */
  readonly allowedUids: readonly number[]
  readonly unsafeListenAny: boolean
  readonly unsafeHttpUpstream: boolean
  readonly maxHeaderBytes: number
  readonly replayBodyLimitBytes: number
  readonly inspectBodyLimitBytes: number
  /** A request body's allowance: this long, plus a second per `minUploadRate` bytes received. */
  readonly requestBodyTimeoutMs: number
  readonly minUploadRate: number
  readonly upstreamMaxSockets: number
  /** Requests per identity per clock hour before 429 budget_exhausted; undefined: counted, never refused. */
  readonly upstreamBudget: number | undefined
  readonly coalesce: boolean
  /** 0: no micro-cache. */
  readonly cacheTtlMs: number
  readonly cacheMaxBytes: number
  /** An idle pooled connection to Cloud 66 is closed after this long. */
  readonly upstreamKeepAliveTimeoutMs: number
  readonly oauth: OAuthConfig
  /** The base URL users reach the proxy at (the OAuth redirect URI is `<publicUrl>/-/callback`). */
  readonly publicUrl: URL
  /** Directory of the embedded token store. */
  readonly dataDir: string
  readonly refreshSkewMs: number
  /**
   * The store-key variables (C66_PROXY_SECRET, C66_PROXY_SECRET_FILE, C66_PROXY_PREVIOUS_SECRETS),
   * behind a function so that serialising the config can never include them.
   */
  readonly secretEnv: () => Readonly<Record<string, string | undefined>>
  /** `file` (the embedded store in dataDir) or a redis:// URL (may carry a password: never print it). */
  readonly store: { readonly kind: 'file' } | { readonly kind: 'redis'; readonly url: string; readonly options: Readonly<Record<string, unknown>> }
  readonly gateway: GatewayConfig
  /** Token sources that come from the environment, decoded once at start-up. */
  readonly envTokens: {
    readonly accessToken: Secret | undefined
    readonly cxToken: Secret | undefined
  }
}

export interface OAuthConfig {
  /** Undefined: OAuth login is not configured (personal tokens only). */
  readonly clientId: string | undefined
  readonly clientSecret: Secret | undefined
  readonly clientAuth: 'body' | 'basic'
  /** Space-separated. */
  readonly scopes: string
  readonly timeoutMs: number
}

export interface GatewayConfig {
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined
  /** The proxies whose X-Forwarded-* and identity header are believed. */
  readonly trustedProxies: BlockList
  /** The same, as configured (for messages). */
  readonly trustedProxyCidrs: readonly string[]
  /** Lower-case header name, or undefined. */
  readonly trustedIdentityHeader: string | undefined
  readonly admins: readonly string[]
  readonly memberRate: Rate
  /** Logins one client address may start (`/-/login`). */
  readonly loginRate: Rate
  /** Upstream requests one member may have in flight at once. */
  readonly memberConcurrency: number
  /** Open connections one client address may hold (trusted proxies exempt). */
  readonly maxClientConnections: number
  /** --gateway-deny-paths, compiled. */
  readonly denyRules: readonly PathRule[]
  /** A file path, `-` for standard output. */
  readonly auditLog: string
  readonly auditAll: boolean
  readonly replicaId: string
  readonly storeOutageGraceMs: number
  readonly sessionTtlMs: number
}
