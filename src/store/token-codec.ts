import { z } from 'zod'
import { Secret } from '../secret.js'
import { StoreError, type StoredToken } from './types.js'

/**
 * StoredToken ↔ the JSON that gets sealed. Secrets are revealed only here, into the plaintext that
 * the sealer encrypts at once; everywhere else they stay inside Secret objects.
 */

const tokenJson = z.object({
  accessToken: z.string().min(1),
  refreshToken: z.string().nullable(),
  tokenType: z.string(),
  scope: z.string().nullable(),
  expiresAt: z.number().nullable(),
  obtainedAt: z.number(),
  origin: z.enum(['oauth', 'personal', 'cx-import']),
  loginRequired: z.boolean().optional(),
})

export function encodeToken(token: StoredToken): string {
  const json: z.infer<typeof tokenJson> = {
    accessToken: token.accessToken.reveal(),
    refreshToken: token.refreshToken?.reveal() ?? null,
    tokenType: token.tokenType,
    scope: token.scope ?? null,
    expiresAt: token.expiresAt ?? null,
    obtainedAt: token.obtainedAt,
    origin: token.origin,
  }
  if (token.loginRequired !== undefined) json.loginRequired = token.loginRequired
  return JSON.stringify(json)
}

/** `recordKey` and `location` only name the record in the error; the plaintext never reaches it. */
export function decodeToken(plaintext: string, recordKey: string, location: string): StoredToken {
  const parsed = tokenJson.safeParse(parseJson(plaintext))
  if (!parsed.success) throw undecodable(recordKey, location)
  const t = parsed.data
  const token: StoredToken = {
    accessToken: new Secret(t.accessToken),
    refreshToken: t.refreshToken === null ? undefined : new Secret(t.refreshToken),
    tokenType: t.tokenType,
    scope: t.scope ?? undefined,
    expiresAt: t.expiresAt ?? undefined,
    obtainedAt: t.obtainedAt,
    origin: t.origin,
  }
  return t.loginRequired === undefined ? token : { ...token, loginRequired: t.loginRequired }
}

/** One-time values carry their expiry inside the seal too, so the plaintext `expiresAt` cannot extend them. */
export function encodeOnce(value: string, expiresAt: number): string {
  return JSON.stringify({ value, expiresAt })
}

const onceJson = z.object({ value: z.string(), expiresAt: z.number() })

export function decodeOnce(plaintext: string, recordKey: string, location: string): { value: string; expiresAt: number } {
  const parsed = onceJson.safeParse(parseJson(plaintext))
  if (!parsed.success) throw undecodable(recordKey, location)
  return parsed.data
}

/**
 * Documents carry their expiry (or null: none) inside the seal, like one-time values, so a clear-text
 * copy kept for pruning cannot extend them.
 */
export function encodeDoc(value: string, expiresAt: number | undefined): string {
  return JSON.stringify({ value, expiresAt: expiresAt ?? null })
}

const docJson = z.object({ value: z.string(), expiresAt: z.number().nullable() })

export function decodeDoc(plaintext: string, recordKey: string, location: string): { value: string; expiresAt: number | undefined } {
  const parsed = docJson.safeParse(parseJson(plaintext))
  if (!parsed.success) throw undecodable(recordKey, location)
  return { value: parsed.data.value, expiresAt: parsed.data.expiresAt ?? undefined }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function undecodable(recordKey: string, location: string): StoreError {
  return new StoreError(
    'store_corrupt',
    `The token store ${location} has a record "${recordKey}" that opens but does not hold what it should (written by another version?). It was left untouched.`,
  )
}
