import { z } from 'zod'
import type { SealedValue } from './sealer.js'
import { StoreError } from './types.js'

/**
 * The store file's format:
 * `{ "format": "c66-proxy-store", "version": 1, "records": { "<key>": { kid, iv, tag, ct, expiresAt? } } }`.
 * Every record value is sealed; only the record keys (caller names, one-time ids) and the expiry of
 * one-time values are in the clear, so expired values can be pruned without a key.
 */

export const STORE_FORMAT = 'c66-proxy-store'
export const STORE_VERSION = 1

export interface SealedRecord extends SealedValue {
  /** Epoch ms; one-time values only (a sealed copy inside decides, this one lets writers prune). */
  readonly expiresAt?: number
}

/** Records by key. A Map, so a key such as `__proto__` in a hand-edited file is only a key. */
export type Records = Map<string, SealedRecord>

const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/)
const sealedRecord = z.strictObject({
  kid: z.string().regex(/^[0-9a-f]{8}$/),
  iv: base64url,
  tag: base64url,
  ct: base64url,
  expiresAt: z.number().int().optional(),
})

/** Record keys: `token:<caller>` and `once:<namespace>:<id>`, each part URI-encoded so ':' cannot blur them. */
export const recordKey = {
  token: (caller: string) => `token:${encodeURIComponent(caller)}`,
  once: (namespace: string, id: string) => `once:${encodeURIComponent(namespace)}:${encodeURIComponent(id)}`,
  callerOf: (key: string): string | undefined => (key.startsWith('token:') ? safeDecode(key.slice('token:'.length)) : undefined),
}

function safeDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part)
  } catch {
    return undefined
  }
}

/** Parses the file's text; anything unexpected is `store_corrupt` (or `store_unreadable` for a newer format). */
export function parseDocument(text: string, location: string): Records {
  const corrupt = (why: string) =>
    new StoreError(
      'store_corrupt',
      `The token store ${location} is not a valid c66-proxy store (${why}). It was left untouched: restore it from a backup, or move it away and log in again.`,
    )
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw corrupt(text.trim() === '' ? 'the file is empty' : 'the file is not complete JSON')
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw corrupt('the file is not a JSON object')
  const top = raw as Record<string, unknown>
  if (top['format'] !== STORE_FORMAT) throw corrupt(`"format" is not "${STORE_FORMAT}"`)
  if (typeof top['version'] === 'number' && top['version'] > STORE_VERSION) {
    throw new StoreError(
      'store_unreadable',
      `The token store ${location} was written by a newer c66-proxy (format version ${top['version']}); upgrade c66-proxy to read it.`,
    )
  }
  if (top['version'] !== STORE_VERSION) throw corrupt('"version" is missing or unknown')
  const rawRecords = top['records']
  if (typeof rawRecords !== 'object' || rawRecords === null || Array.isArray(rawRecords)) throw corrupt('"records" is not an object')
  const records: Records = new Map()
  for (const [key, value] of Object.entries(rawRecords)) {
    const parsed = sealedRecord.safeParse(value)
    if (!parsed.success) throw corrupt(`record "${key}" is malformed`)
    const { expiresAt, ...sealed } = parsed.data
    records.set(key, expiresAt === undefined ? sealed : { ...sealed, expiresAt })
  }
  return records
}

export function serializeDocument(records: Records): string {
  return `${JSON.stringify({ format: STORE_FORMAT, version: STORE_VERSION, records: Object.fromEntries(records) }, null, 2)}\n`
}
