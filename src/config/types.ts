import type { Secret } from '../secret.js'

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/** The validated, frozen configuration every part of the proxy is built from. */
export interface Config {
  readonly mode: 'local'
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
  readonly denyPaths: readonly string[]
  readonly allowedHosts: readonly string[]
  readonly unsafeListenAny: boolean
  readonly unsafeHttpUpstream: boolean
  readonly maxHeaderBytes: number
  readonly replayBodyLimitBytes: number
  readonly upstreamMaxSockets: number
  /** Token sources that come from the environment, decoded once at start-up. */
  readonly envTokens: {
    readonly accessToken: Secret | undefined
    readonly cxToken: Secret | undefined
  }
}
