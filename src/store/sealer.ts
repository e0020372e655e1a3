import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import type { KeyRing, StoreKey } from './keys.js'
import { StoreError } from './types.js'

/**
 * AES-256-GCM for one record. The record's key is the additional authenticated data, so a sealed
 * value copied under another record's key (say, another caller's) fails to open.
 */

export interface SealedValue {
  /** The id of the key that sealed it (see keys.ts). */
  readonly kid: string
  /** base64url: 12-byte IV, fresh for every seal (GCM must never reuse one with the same key). */
  readonly iv: string
  /** base64url: the 16-byte authentication tag. */
  readonly tag: string
  /** base64url ciphertext. */
  readonly ct: string
}

const IV_BYTES = 12
const TAG_BYTES = 16

/** The cause to name when a record will not open: almost always a changed secret. */
export const KEY_MISMATCH_HINT = 'the store was sealed with a different C66_PROXY_SECRET; set it, or add the old one to C66_PROXY_PREVIOUS_SECRETS'

export function seal(key: StoreKey, recordKey: string, plaintext: string): SealedValue {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(Buffer.from(recordKey, 'utf8'))
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return { kid: key.kid, iv: iv.toString('base64url'), tag: cipher.getAuthTag().toString('base64url'), ct: ct.toString('base64url') }
}

/**
 * Opens a record sealed under `recordKey`. `location` (the store file) goes into the error, which
 * never carries key material or plaintext.
 */
export function open(keys: KeyRing, recordKey: string, sealed: SealedValue, location: string): string {
  const key = keys.byId(sealed.kid)
  if (key === undefined) {
    throw new StoreError(
      'store_key_mismatch',
      `Cannot open the token store ${location}: record "${recordKey}" was sealed with key ${sealed.kid}, which none of the configured secrets derives; ${KEY_MISMATCH_HINT}.`,
    )
  }
  const iv = Buffer.from(sealed.iv, 'base64url')
  const tag = Buffer.from(sealed.tag, 'base64url')
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
    throw new StoreError(
      'store_corrupt',
      `The token store ${location} is damaged: record "${recordKey}" has a malformed IV or tag. Restore it from a backup or delete it and log in again.`,
    )
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, iv, { authTagLength: TAG_BYTES })
    decipher.setAAD(Buffer.from(recordKey, 'utf8'))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64url')), decipher.final()]).toString('utf8')
  } catch (err) {
    // The kid matched, so the secret is probably right: the bytes were altered or moved between records.
    throw new StoreError(
      'store_key_mismatch',
      `Cannot open the token store ${location}: record "${recordKey}" failed its integrity check. It was edited, damaged or copied from another record, or ${KEY_MISMATCH_HINT}.`,
      { cause: err },
    )
  }
}
