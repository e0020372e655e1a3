// The authorization server's records, after Doorkeeper's tables: applications (clients), grants
// (authorization codes) and access-token rows, where a row holds the access token AND its refresh
// token, so revoking either kills both. Issued access tokens are made valid in the API's
// TokenRegistry, so /api/3 accepts them with exactly the granted scopes.
import { createHash, randomBytes } from 'node:crypto'
import type { Clock } from '../clock.js'
import { ALL_SCOPES } from './auth.js'
import type { SimulatorOptions } from './index.js'
import { OAuthTokenRegistry } from './oauth-tokens.js'
import type { TokenFacts } from './oauth-tokens.js'

export interface OAuthClient {
  readonly clientId: string
  readonly clientSecret: string | undefined
  /** Empty: any loopback http URI and the out-of-band URI (the default test client). */
  readonly redirectUris: readonly string[]
  readonly confidential: boolean
}

export interface OAuthUser {
  readonly id: number
  readonly email: string
}

/** An authorization code (Doorkeeper's oauth_access_grants row). */
export interface Grant {
  readonly code: string
  readonly clientId: string
  readonly userId: number
  readonly redirectUri: string
  readonly scopes: readonly string[]
  readonly codeChallenge: string | undefined
  readonly codeChallengeMethod: string | undefined
  /** ms on the simulator clock. */
  readonly expiresAt: number
  revoked: boolean
}

/** An oauth_access_tokens row. */
export interface TokenRow {
  readonly accessToken: string
  readonly refreshToken: string | undefined
  readonly clientId: string | undefined
  readonly userId: number | undefined
  readonly scopes: readonly string[]
  /** ms on the simulator clock. */
  readonly createdAt: number
  /** Lifetime in seconds; undefined never expires (Cloud 66's usual case). */
  readonly expiresIn: number | undefined
  revoked: boolean
  /**
   * Doorkeeper's previous_refresh_token: the refresh token this row was minted from, revoked when
   * this token is first used.
   */
  previousRefreshToken: string | undefined
}

/** How often each OAuth endpoint was called, for tests that count (single-flight refresh). */
export interface OAuthCalls {
  /** POST /oauth/token, whatever the outcome. */
  token: number
  /** POST /oauth/token by the grant_type sent (absent grant types are not counted here). */
  readonly tokenByGrant: Record<string, number>
  /** POST /oauth/revoke. */
  revoke: number
  /** GET /oauth/authorize (authorization requests; the consent form's POSTs are not counted). */
  authorize: number
}

export interface IssueOptions {
  readonly clientId?: string
  readonly expiresInSeconds?: number
  readonly refreshToken?: boolean
}

export interface IssuedTokens {
  readonly accessToken: string
  readonly refreshToken?: string
}

/** The consent page's server-side session; the `_session` cookie names it. */
export interface ConsentSession {
  /** Rails' real CSRF token, the key of every per-form token. */
  readonly csrfSecret: Buffer
  /** The user last chosen on the consent page: Doorkeeper's current_resource_owner. */
  userId: number | undefined
}

export const KNOWN_SCOPES: readonly string[] = ALL_SCOPES
export const DEFAULT_SCOPES: readonly string[] = ['public']

const DEFAULT_CLIENT = { clientId: 'sim-client', clientSecret: 'sim-secret', redirectUris: [], confidential: true }
const DEFAULT_USERS: readonly OAuthUser[] = [
  { id: 1, email: 'ada@example.com' },
  { id: 2, email: 'grace@example.com' },
]

/** Doorkeeper's default generator: SecureRandom.urlsafe_base64(32), 43 characters. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url')
}

/** RFC 7636 §4.2 S256: BASE64URL(SHA256(verifier)) without padding. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}

export class OAuthStore {
  readonly tokens: OAuthTokenRegistry
  readonly clock: Clock
  readonly users: readonly OAuthUser[]
  readonly calls: OAuthCalls = { token: 0, tokenByGrant: {}, revoke: 0, authorize: 0 }
  readonly tokenResponseFormat: 'json' | 'form'
  readonly accessTokenTtlSeconds: number | undefined
  readonly issueRefreshTokens: boolean
  readonly revokePreviousOnUse: boolean
  readonly codeTtlSeconds: number
  readonly sessions = new Map<string, ConsentSession>()
  readonly #clients = new Map<string, OAuthClient>()
  readonly #grants = new Map<string, Grant>()
  readonly #byAccess = new Map<string, TokenRow>()
  readonly #byRefresh = new Map<string, TokenRow>()

  constructor(options: SimulatorOptions) {
    this.clock = options.clock ?? { now: () => Date.now() }
    this.tokens = new OAuthTokenRegistry(this.clock)
    this.tokens.listen({ presented: (token) => this.#presented(token), revoked: (token) => this.#revoked(token) })

    for (const client of options.oauthClients ?? [DEFAULT_CLIENT]) {
      const confidential = client.confidential ?? client.clientSecret !== undefined
      if (client.clientId === '') throw new TypeError('oauthClients: clientId must not be empty')
      if (this.#clients.has(client.clientId)) throw new TypeError(`oauthClients: duplicate clientId ${client.clientId}`)
      if (confidential && client.clientSecret === undefined) throw new TypeError(`oauthClients: confidential client ${client.clientId} needs a clientSecret`)
      this.#clients.set(client.clientId, {
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        redirectUris: [...client.redirectUris],
        confidential,
      })
    }
    this.users = options.users ?? DEFAULT_USERS
    if (this.users.length === 0) throw new TypeError('users must name at least one user')
    if (new Set(this.users.map((u) => u.id)).size !== this.users.length) throw new TypeError('users: ids must be unique')

    this.tokenResponseFormat = options.tokenResponseFormat ?? 'json'
    this.accessTokenTtlSeconds = options.accessTokenTtlSeconds
    if (this.accessTokenTtlSeconds !== undefined && !(Number.isInteger(this.accessTokenTtlSeconds) && this.accessTokenTtlSeconds > 0)) {
      throw new TypeError('accessTokenTtlSeconds must be a whole number > 0')
    }
    this.issueRefreshTokens = options.issueRefreshTokens ?? false
    this.revokePreviousOnUse = options.revokePreviousOnUse ?? true
    this.codeTtlSeconds = options.codeTtlSeconds ?? 600
    if (!(Number.isFinite(this.codeTtlSeconds) && this.codeTtlSeconds >= 0)) throw new TypeError('codeTtlSeconds must be a number >= 0')
  }

  client(clientId: string): OAuthClient | undefined {
    return this.#clients.get(clientId)
  }

  /** Application.by_uid_and_secret: a public client may leave the secret out; a wrong one never passes. */
  authenticateClient(clientId: string, secret: string | undefined): OAuthClient | undefined {
    const client = this.#clients.get(clientId)
    if (client === undefined) return undefined
    if ((secret === undefined || secret === '') && !client.confidential) return client
    return client.clientSecret !== undefined && secret === client.clientSecret ? client : undefined
  }

  user(id: number): OAuthUser | undefined {
    return this.users.find((u) => u.id === id)
  }

  // Authorization codes

  createGrant(fields: Omit<Grant, 'code' | 'expiresAt' | 'revoked'>): Grant {
    const grant: Grant = { ...fields, code: newSecret(), expiresAt: this.clock.now() + this.codeTtlSeconds * 1000, revoked: false }
    this.#grants.set(grant.code, grant)
    return grant
  }

  grant(code: string): Grant | undefined {
    return this.#grants.get(code)
  }

  /** AccessGrant#accessible?: neither used nor past its TTL (strictly, as Expirable#expired?). */
  grantUsable(grant: Grant): boolean {
    return !grant.revoked && !(this.clock.now() > grant.expiresAt)
  }

  // Access-token rows

  issue(fields: {
    clientId: string | undefined
    userId: number | undefined
    scopes: readonly string[]
    expiresIn: number | undefined
    refreshToken: boolean
    previousRefreshToken?: string | undefined
  }): TokenRow {
    const now = this.clock.now()
    const row: TokenRow = {
      accessToken: newSecret(),
      refreshToken: fields.refreshToken ? newSecret() : undefined,
      clientId: fields.clientId,
      userId: fields.userId,
      scopes: [...fields.scopes],
      createdAt: now,
      expiresIn: fields.expiresIn,
      revoked: false,
      previousRefreshToken: fields.previousRefreshToken,
    }
    this.#byAccess.set(row.accessToken, row)
    if (row.refreshToken !== undefined) this.#byRefresh.set(row.refreshToken, row)
    this.tokens.set(row.accessToken, row.scopes)
    if (row.expiresIn !== undefined) this.tokens.setExpiry(row.accessToken, now + row.expiresIn * 1000)
    return row
  }

  byAccessToken(token: string): TokenRow | undefined {
    return this.#byAccess.get(token)
  }

  byRefreshToken(token: string): TokenRow | undefined {
    return this.#byRefresh.get(token)
  }

  /** Revokes the row: its access token answers "was revoked", its refresh token invalid_grant. */
  revokeRow(row: TokenRow): void {
    if (row.revoked) return
    row.revoked = true
    this.tokens.revoke(row.accessToken)
  }

  /** Not revoked and not expired (Doorkeeper's Accessible#accessible?). */
  accessible(row: TokenRow): boolean {
    return !row.revoked && !this.tokens.facts(row.accessToken).expired
  }

  /** Doorkeeper's matching_token_for: the user's unrevoked token for the client with exactly these scopes. */
  hasMatchingToken(clientId: string, userId: number, scopes: readonly string[]): boolean {
    const wanted = [...scopes].sort().join(' ')
    for (const row of this.#byAccess.values()) {
      if (!row.revoked && row.clientId === clientId && row.userId === userId && [...row.scopes].sort().join(' ') === wanted) return true
    }
    return false
  }

  /**
   * A token presented to a protected endpoint: runs Doorkeeper's Token.authenticate side effect
   * (see #presented) and reports the token without throwing for an expired one.
   */
  present(token: string): TokenFacts {
    this.#presented(token)
    return this.tokens.facts(token)
  }

  // Test helpers behind Simulator.issueToken / expireToken / userOf

  issueForTest(userId: number, scopes: readonly string[], options: IssueOptions = {}): IssuedTokens {
    if (this.user(userId) === undefined) throw new TypeError(`issueToken: no user ${userId}`)
    const clientId = options.clientId ?? this.#clients.keys().next().value
    if (clientId !== undefined && !this.#clients.has(clientId)) throw new TypeError(`issueToken: no client ${clientId}`)
    const row = this.issue({
      clientId,
      userId,
      scopes,
      expiresIn: options.expiresInSeconds ?? this.accessTokenTtlSeconds,
      refreshToken: options.refreshToken ?? this.issueRefreshTokens,
    })
    return row.refreshToken === undefined ? { accessToken: row.accessToken } : { accessToken: row.accessToken, refreshToken: row.refreshToken }
  }

  /** Makes any token the API knows answer "The access token expired" from now on. */
  expireToken(token: string): void {
    this.tokens.setExpiry(token, this.clock.now() - 1)
  }

  /**
   * The user a token (access or refresh) belongs to. Tokens given through `tokens`/`setToken` are
   * personal access tokens of the first user; client_credentials tokens belong to nobody.
   */
  userOf(token: string): number | undefined {
    const row = this.#byAccess.get(token) ?? this.#byRefresh.get(token)
    if (row !== undefined) return row.userId
    return this.tokens.facts(token).createdAt !== undefined ? this.users[0]!.id : undefined
  }

  /** Doorkeeper's Token.authenticate: the first use of a refreshed token revokes its predecessor. */
  #presented(token: string): void {
    const row = this.#byAccess.get(token)
    if (row?.previousRefreshToken === undefined) return
    const previous = this.#byRefresh.get(row.previousRefreshToken)
    row.previousRefreshToken = undefined
    if (previous !== undefined) this.revokeRow(previous)
  }

  /** Simulator.revokeToken on an issued token revokes its whole row, as /oauth/revoke does. */
  #revoked(token: string): void {
    const row = this.#byAccess.get(token) ?? this.#byRefresh.get(token)
    if (row !== undefined) this.revokeRow(row)
  }
}

/** Adds one to `counts[key]`, safely for any key a client may send ("__proto__" included). */
export function bump(counts: Record<string, number>, key: string): void {
  Object.defineProperty(counts, key, { value: (Object.hasOwn(counts, key) ? counts[key]! : 0) + 1, enumerable: true, writable: true, configurable: true })
}
