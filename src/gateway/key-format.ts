import { createHash, randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

export const KEY_PREFIX = 'c66p_'

/** `c66p_` + 256 random bits (base64url). Shown once; only its hash is stored. */
export function newKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url')
}

export function newKeyId(): string {
  return `key_${randomBytes(9).toString('base64url')}`
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}

/** What the caller presented in Authorization, before any lookup. */
export type Presented =
  | { readonly kind: 'key'; readonly key: string }
  | { readonly kind: 'other' } // a credential that is not a gateway key (e.g. a Cloud 66 token)
  | { readonly kind: 'none' }

/**
 * A gateway key arrives as `Authorization: Bearer c66p_…` or as the password of HTTP Basic
 * (`curl -u me:c66p_…`, `https://me:c66p_…@host`). Anything else is not a gateway credential.
 */
export function presentedCredential(headers: IncomingHttpHeaders): Presented {
  const auth = headers.authorization
  if (auth === undefined || auth === '') return { kind: 'none' }
  const space = auth.indexOf(' ')
  const scheme = (space === -1 ? auth : auth.slice(0, space)).toLowerCase()
  const value = space === -1 ? '' : auth.slice(space + 1).trim()
  let candidate: string | undefined
  if (scheme === 'bearer') candidate = value
  else if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    candidate = colon === -1 ? undefined : decoded.slice(colon + 1)
  }
  return candidate !== undefined && /^c66p_[A-Za-z0-9_-]{43}$/.test(candidate) ? { kind: 'key', key: candidate } : { kind: 'other' }
}
