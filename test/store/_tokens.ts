import { Secret } from '../../src/secret.js'
import type { StoredToken } from '../../src/store/types.js'

/** A token with every field set; `overrides` replaces any of them. */
export function fullToken(overrides: Partial<StoredToken> = {}): StoredToken {
  return {
    accessToken: new Secret('access-full-0123456789'),
    refreshToken: new Secret('refresh-full-0123456789'),
    tokenType: 'Bearer',
    scope: 'public redeploy',
    expiresAt: Date.UTC(2025, 0, 1, 2),
    obtainedAt: Date.UTC(2025, 0, 1),
    origin: 'oauth',
    loginRequired: true,
    ...overrides,
  }
}

/** A personal token: no refresh token, no expiry, no scope, no loginRequired. */
export function bareToken(access = 'access-bare-0123456789'): StoredToken {
  return {
    accessToken: new Secret(access),
    refreshToken: undefined,
    tokenType: 'bearer',
    scope: undefined,
    expiresAt: undefined,
    obtainedAt: Date.UTC(2024, 5, 1),
    origin: 'personal',
  }
}

/** Everything a token says, secrets revealed, and whether `loginRequired` is present at all. */
export function described(token: StoredToken | undefined): Record<string, unknown> | undefined {
  if (token === undefined) return undefined
  return {
    accessToken: token.accessToken.reveal(),
    refreshToken: token.refreshToken?.reveal(),
    tokenType: token.tokenType,
    scope: token.scope,
    expiresAt: token.expiresAt,
    obtainedAt: token.obtainedAt,
    origin: token.origin,
    loginRequired: 'loginRequired' in token ? token.loginRequired : '(absent)',
  }
}
