import { whenJson } from '../time-format.js'
import type { SourceReport, TokenSourceName } from './local-sources.js'
import type { TokenReport } from './token-service.js'

/**
 * How a token and its sources are shown, in one place for `status`, `status --json`, `token show`
 * and the status page, so they cannot disagree. The order is the order TokenService follows: the
 * store (a login, `token set`, `token import-cx`) first, then the local sources.
 */
export type SourceState = SourceReport['state'] | 'login-required'

export interface SourceRow {
  readonly source: 'store' | TokenSourceName
  readonly location: string
  readonly state: SourceState
  readonly problem?: string
}

/** A token described without the token: the same fields wherever it is printed. */
export interface TokenFields {
  readonly source: 'store' | TokenSourceName
  readonly location: string
  readonly fingerprint: string
  /** How a stored token got there (`oauth`, `personal`, `cx-import`); null for the local sources. */
  readonly origin: string | null
  readonly scope: string | null
  readonly obtained_at: string | null
  /** null: no known expiry (Cloud 66's tokens do not expire; text output says "never"). */
  readonly expires_at: string | null
  readonly refreshable: boolean
}

/** Every token source, in order, with exactly one `used` when a token is available. */
export function sourceRows(report: TokenReport, storeLocation: string): SourceRow[] {
  const storeUsed = report.active?.source === 'store'
  // A stored token is only passed over when it can no longer be used (revoked, expired).
  const store: SourceRow = { source: 'store', location: storeLocation, state: report.stored === undefined ? 'absent' : storeUsed ? 'used' : 'login-required' }
  const local = (report.local?.report ?? []).map((r): SourceRow => (storeUsed && r.state === 'used' ? { ...r, state: 'shadowed' } : r))
  return [store, ...local]
}

/** The token in use; else the stored one that needs a new login; else null. */
export function tokenFields(report: TokenReport, storeLocation: string): TokenFields | null {
  const active = report.active
  const stored = active ? active.stored : report.loginRequired ? report.stored : undefined
  const token = active?.token ?? stored?.accessToken
  if (token === undefined) return null
  return {
    source: active?.source ?? 'store',
    location: active?.location ?? storeLocation,
    fingerprint: token.fingerprint,
    origin: stored?.origin ?? null,
    scope: stored?.scope ?? null,
    obtained_at: whenJson(stored?.obtainedAt),
    expires_at: whenJson(stored?.expiresAt),
    refreshable: stored?.refreshToken !== undefined,
  }
}
