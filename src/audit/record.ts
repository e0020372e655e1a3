import { createHash } from 'node:crypto'

/**
 * What the gateway knows about one request when it audits it. There is deliberately no field for
 * a gateway key, a Cloud 66 token or a cookie: the record can only carry what is listed here, and
 * `toRecord` copies these fields by name, so anything else passed in by mistake is dropped.
 */
export interface AuditEntry {
  /** Member identity, e.g. `cloud66:1234` or the trusted identity header's value. */
  readonly member: string
  readonly key_label?: string
  readonly key_id?: string
  readonly method: string
  /** The route template (`/stacks/:stack_id/servers`), never the raw path with its query. */
  readonly route: string
  readonly stack_id?: string
  readonly status: number
  readonly duration_ms: number
  readonly request_id: string
}

/** One line of the audit log. */
export interface AuditRecord extends AuditEntry {
  readonly v: 1
  /** ISO 8601, from the injected clock. */
  readonly time: string
  readonly replica: string
  /** 1-based position in this replica's chain. */
  readonly seq: number
  /** `hash` of this replica's previous record, or null for seq 1. */
  readonly prev: string | null
  /** Hex SHA-256 of the canonical JSON of every other field (prev included). */
  readonly hash: string
}

/** Where a replica's chain stands: the last record written, or nothing yet. */
export interface ChainHead {
  readonly seq: number
  readonly hash: string
}

/**
 * The canonical field order. Canonical JSON is written by hand in this order (not with sorted
 * keys): `{`, then each present field as `"name":<JSON.stringify(value)>` joined by `,`, then `}`;
 * no whitespace, optional fields absent (not null) when unset. `hash` is computed over the
 * canonical JSON of the record without `hash`, and a log line is that same text with
 * `,"hash":"…"` added as the last field, so the verifier can rebuild every line byte for byte.
 */
export const FIELD_ORDER = [
  'v', 'time', 'replica', 'seq', 'member', 'key_label', 'key_id', 'method', 'route',
  'stack_id', 'status', 'duration_ms', 'request_id', 'prev', 'hash',
] as const

const OPTIONAL = new Set<string>(['key_label', 'key_id', 'stack_id'])

type Unhashed = Omit<AuditRecord, 'hash'>

function canonicalFields(record: Unhashed): string {
  const parts: string[] = []
  for (const name of FIELD_ORDER) {
    if (name === 'hash') continue
    const value = (record as unknown as Record<string, unknown>)[name]
    if (value === undefined && OPTIONAL.has(name)) continue
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(value)}`)
  }
  return parts.join(',')
}

/** Hex SHA-256 over the canonical JSON of every field but `hash`. */
export function hashOf(record: Unhashed): string {
  return createHash('sha256').update(`{${canonicalFields(record)}}`, 'utf8').digest('hex')
}

/** The log line for a record (no trailing newline). */
export function serialize(record: AuditRecord): string {
  return `{${canonicalFields(record)},"hash":${JSON.stringify(record.hash)}}`
}

const text = (value: unknown): string => (typeof value === 'string' ? value : String(value))
const optionalText = (value: unknown): string | undefined => (value === undefined || value === null ? undefined : text(value))
const integer = (value: unknown): number => {
  const n = Number(value)
  return Number.isFinite(n) ? Math.max(0, Math.round(n)) : 0
}

/**
 * Builds the next record of a chain. Only the fields of `AuditEntry` are copied, by name; values
 * are coerced to their declared types so a caller's slip cannot produce a line `verify` rejects.
 */
export function toRecord(entry: AuditEntry, chain: { time: string; replica: string; head: ChainHead | undefined }): AuditRecord {
  const keyLabel = optionalText(entry.key_label)
  const keyId = optionalText(entry.key_id)
  const stackId = optionalText(entry.stack_id)
  const unhashed: Unhashed = {
    v: 1,
    time: chain.time,
    replica: chain.replica,
    seq: (chain.head?.seq ?? 0) + 1,
    member: text(entry.member),
    ...(keyLabel === undefined ? {} : { key_label: keyLabel }),
    ...(keyId === undefined ? {} : { key_id: keyId }),
    method: text(entry.method),
    route: text(entry.route),
    ...(stackId === undefined ? {} : { stack_id: stackId }),
    status: integer(entry.status),
    duration_ms: integer(entry.duration_ms),
    request_id: text(entry.request_id),
    prev: chain.head?.hash ?? null,
  }
  return { ...unhashed, hash: hashOf(unhashed) }
}

const HEX64 = /^[0-9a-f]{64}$/

/**
 * Reads one log line back: the parsed record, or why the line is not one. A line is a record only
 * if it is exactly the canonical serialisation of its own fields (so an added field, a reordered
 * one or extra whitespace is caught) and its hash matches. Chain order is the verifier's job.
 */
export function parseRecord(line: string): { record: AuditRecord } | { reason: string } {
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    return { reason: 'not valid JSON (a cut or damaged line)' }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { reason: 'not a JSON object' }
  const fields = parsed as Record<string, unknown>
  const known = new Set<string>(FIELD_ORDER)
  const unexpected = Object.keys(fields).find((name) => !known.has(name))
  if (unexpected !== undefined) return { reason: `unexpected field ${JSON.stringify(unexpected)}` }
  if (fields['v'] !== 1) return { reason: `unsupported record version ${JSON.stringify(fields['v'])}` }
  for (const name of ['time', 'replica', 'member', 'method', 'route', 'request_id']) {
    if (typeof fields[name] !== 'string') return { reason: `field ${name} is missing or not a string` }
  }
  if (fields['replica'] === '') return { reason: 'field replica is empty' }
  for (const name of OPTIONAL) {
    if (name in fields && typeof fields[name] !== 'string') return { reason: `field ${name} is not a string` }
  }
  for (const name of ['seq', 'status', 'duration_ms']) {
    const n = fields[name]
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return { reason: `field ${name} is missing or not a whole number` }
  }
  if ((fields['seq'] as number) < 1) return { reason: 'field seq is less than 1' }
  const prev = fields['prev']
  if (prev !== null && !(typeof prev === 'string' && HEX64.test(prev))) return { reason: 'field prev is neither null nor a SHA-256 hex digest' }
  if (typeof fields['hash'] !== 'string' || !HEX64.test(fields['hash'])) return { reason: 'field hash is missing or not a SHA-256 hex digest' }
  const record = fields as unknown as AuditRecord
  if (hashOf(record) !== record.hash) return { reason: 'hash does not match the line (the line was edited)' }
  if (serialize(record) !== line) return { reason: 'line is not in canonical form (fields reordered or reformatted)' }
  return { record }
}
