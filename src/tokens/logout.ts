import type { OAuthClient } from '../oauth/client.js'
import type { TokenStore } from '../store/types.js'

export interface LogoutResult {
  /** Cloud 66 confirmed the revocation (RFC 7009). */
  readonly revoked: boolean
  /** Why revocation was skipped or failed, in words for the user; undefined when it worked. */
  readonly revokeProblem: string | undefined
  readonly deleted: boolean
}

/**
 * Revokes the caller's stored token at `<upstream>/oauth/revoke` (revoking the access token
 * also kills its refresh token: Doorkeeper keeps both in one row) and deletes it from the store. The
 * token is deleted even when revocation fails, so logging out always takes effect locally.
 */
export async function logout(caller: string, store: TokenStore, oauth: OAuthClient | undefined): Promise<LogoutResult> {
  const stored = await store.getToken(caller)
  let revoked = false
  let revokeProblem: string | undefined
  if (!stored) revokeProblem = 'no stored token'
  else if (stored.origin !== 'oauth') revokeProblem = 'personal access tokens are revoked in Cloud 66 (Account → Authorized applications)'
  else if (!oauth) revokeProblem = 'OAuth is not configured (C66_CLIENT_ID), so the token could not be revoked'
  else {
    try {
      await oauth.revoke(stored.accessToken)
      revoked = true
    } catch (err) {
      revokeProblem = `revocation failed: ${(err as Error).message}`
    }
  }
  const deleted = await store.deleteToken(caller)
  return { revoked, revokeProblem, deleted }
}
