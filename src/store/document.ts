import { z } from 'zod'
import type { SealedValue } from './sealer.js'
import { StoreError } from './types.js'

/**
 * The store file's format:
 * `{ "format": "c66-proxy-store", "version": 1, "records": { "<key>": { kid, iv, tag, ct, expiresAt? } } }`.
 * Every record value is sealed; only the record keys (caller names, one-time and document ids) and the
 * expiry of one-time values and expiring documents are in the clear, so expired values can be pruned
 * without a key.
 */

export const STORE_FORMAT = 'c66-proxy-store'
export const STORE_VERSION = 1

export interface SealedRecord extends SealedValue {
  /** Epoch ms; one-time values and expiring documents only (a sealed copy inside decides, this one lets writers prune). */
  readonly expiresAt?: number
}

/** Records by key. A Map, so a key such as `__proto__` in a hand-edited file is only a key. */
export type Records = Map<string, SealedRecord>

const base64url = z.string().regex(/^[A-Za-z0-9_-]*$/)
/** One sealed record as JSON: the file's record entries, and each value the Redis store keeps. */
export const sealedRecordSchema = z.strictObject({
  kid: z.string().regex(/^[0-9a-f]{8}$/),
  iv: base64url,
  tag: base64url,
  ct: base64url,
  expiresAt: z.number().int().optional(),
})

/**
 * Record keys: `token:<caller>`, `once:<namespace>:<id>` and `doc:<namespace>:<id>`, each part
 * URI-encoded so ':' cannot blur them. The Redis store uses the same keys (after its prefix) and the
 * same sealing, so a record is bound to its key whichever store holds it.
 */
export const recordKey = {
  token: (caller: string) => `token:${encodeURIComponent(caller)}`,
  once: (namespace: string, id: string) => `once:${encodeURIComponent(namespace)}:${encodeURIComponent(id)}`,
  doc: (namespace: string, id: string) => `${recordKey.docPrefix(namespace)}${encodeURIComponent(id)}`,
  /** Every document key of `namespace` starts with this (the namespace is encoded, so it holds no ':'). */
  docPrefix: (namespace: string) => `doc:${encodeURIComponent(namespace)}:`,
  callerOf: (key: string): string | undefined => (key.startsWith('token:') ? safeDecode(key.slice('token:'.length)) : undefined),
  /** The document id of a key of `namespace`, or undefined for any other key. */
  docIdOf: (namespace: string, key: string): string | undefined => {
    const prefix = recordKey.docPrefix(namespace)
    return key.startsWith(prefix) ? safeDecode(key.slice(prefix.length)) : undefined
  },
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
    const parsed = sealedRecordSchema.safeParse(value)
    if (!parsed.success) throw corrupt(`record "${key}" is malformed`)
    const { expiresAt, ...sealed } = parsed.data
    records.set(key, expiresAt === undefined ? sealed : { ...sealed, expiresAt })
  }
  return records
}

export function serializeDocument(records: Records): string {
  return `${JSON.stringify({ format: STORE_FORMAT, version: STORE_VERSION, records: Object.fromEntries(records) }, null, 2)}\n`
}
