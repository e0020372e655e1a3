import { createHmac, timingSafeEqual } from 'node:crypto'
import type { AuditKey, AuditKeys } from './audit-key.js'

/** What an audit record is about: a request through the gateway, or a management action. */
export const AUDIT_EVENTS = [
  'request',
  'login',
  'logout',
  'key_created',
  'key_revoked',
  'member_added',
  'member_removed',
  'token_attached',
  'secret_rotated',
] as const

export type AuditEvent = (typeof AUDIT_EVENTS)[number]

/**
 * What the gateway (or the CLI) knows about one event when it audits it. There is deliberately no
 * field for a gateway key, a Cloud 66 token or a cookie: the record can only carry what is listed
 * here, and `toRecord` copies these fields by name, so anything else passed in by mistake is dropped.
 */
export interface AuditEntry {
  readonly event: AuditEvent
  /** Who acted: the member (`cloud66:42`, `sso:a@b.example`, `service:ci`), or `operator:<os user>` for the CLI. */
  readonly member: string
  /** The client's address (gateway: the right-most untrusted X-Forwarded-For entry behind --trusted-proxies). */
  readonly client?: string
  /** What was acted on: the member a key belongs to (key events), the member added/removed/given a token. */
  readonly object?: string
  readonly key_label?: string
  /** request: the key used; key_created/key_revoked: that key. */
  readonly key_id?: string
  readonly method?: string
  /** The route template, never a raw path or query. */
  readonly route?: string
  readonly stack_id?: string
  readonly status?: number
  readonly duration_ms?: number
  readonly request_id?: string
}

/** One line of the audit log. */
export interface AuditRecord extends AuditEntry {
  readonly v: 2
  /** ISO 8601, from the injected clock. */
  readonly time: string
  readonly replica: string
  /** 1-based position in this replica's chain. */
  readonly seq: number
  /** Names the key (and so the secret) that MACed this line. */
  readonly kid: string
  /** `mac` of this replica's previous record, or null for seq 1. */
  readonly prev: string | null
  /** Hex HMAC-SHA256, under the key named by `kid`, of the canonical JSON of every other field. */
  readonly mac: string
}

/** Where a replica's chain stands: the last record written, or nothing yet. */
export interface ChainHead {
  readonly seq: number
  readonly mac: string
}

/**
 * The canonical field order. Canonical JSON is written by hand in this order (not with sorted
 * keys): `{`, then each present field as `"name":<JSON.stringify(value)>` joined by `,`, then `}`;
 * no whitespace, optional fields absent (not null) when unset. `mac` is computed over the
 * canonical JSON of the record without `mac`, and a log line is that same text with
 * `,"mac":"…"` added as the last field, so the verifier can rebuild every line byte for byte.
 */
export const FIELD_ORDER = [
  'v',
  'time',
  'replica',
  'seq',
  'kid',
  'event',
  'member',
  'client',
  'object',
  'key_label',
  'key_id',
  'method',
  'route',
  'stack_id',
  'status',
  'duration_ms',
  'request_id',
  'prev',
  'mac',
] as const

const OPTIONAL_TEXT = ['client', 'object', 'key_label', 'key_id', 'method', 'route', 'stack_id', 'request_id'] as const
const OPTIONAL_NUMBER = ['status', 'duration_ms'] as const
const OPTIONAL = new Set<string>([...OPTIONAL_TEXT, ...OPTIONAL_NUMBER])
type OptionalFields = Partial<Pick<AuditEntry, (typeof OPTIONAL_TEXT)[number] | (typeof OPTIONAL_NUMBER)[number]>>

type Unsealed = Omit<AuditRecord, 'mac'>

function canonicalFields(record: Unsealed): string {
  const parts: string[] = []
  for (const name of FIELD_ORDER) {
    if (name === 'mac') continue
    const value = (record as unknown as Record<string, unknown>)[name]
    if (value === undefined && OPTIONAL.has(name)) continue
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(value)}`)
  }
  return parts.join(',')
}

/** Hex HMAC-SHA256 under `key` over the canonical JSON of every field but `mac`. */
export function macOf(record: Unsealed, key: AuditKey): string {
  return createHmac('sha256', key.key)
    .update(`{${canonicalFields(record)}}`, 'utf8')
    .digest('hex')
}

/** The log line for a record (no trailing newline). */
export function serialize(record: AuditRecord): string {
  return `{${canonicalFields(record)},"mac":${JSON.stringify(record.mac)}}`
}

const text = (value: unknown): string => (typeof value === 'string' ? value : String(value))
const absent = (value: unknown): value is undefined | null => value === undefined || value === null
const integer = (value: unknown): number => {
  const n = Number(value)
  return Number.isFinite(n) ? Math.max(0, Math.round(n)) : 0
}
const isEvent = (value: unknown): value is AuditEvent => (AUDIT_EVENTS as readonly unknown[]).includes(value)

/** The optional fields that are set, coerced to their declared types, in canonical order. */
function optionalFields(entry: AuditEntry): OptionalFields {
  const given = entry as unknown as Record<string, unknown>
  const fields: Record<string, string | number> = {}
  for (const name of OPTIONAL_TEXT) if (!absent(given[name])) fields[name] = text(given[name])
  for (const name of OPTIONAL_NUMBER) if (!absent(given[name])) fields[name] = integer(given[name])
  return fields as OptionalFields
}

/**
 * Builds and MACs the next record of a chain. Only the fields of `AuditEntry` are copied, by name;
 * values are coerced to their declared types so a caller's slip cannot produce a line `verify`
 * rejects. An event outside AUDIT_EVENTS (only reachable through a cast) has no meaning to coerce
 * to and throws; the writer reports it instead of writing a line verify would refuse.
 */
export function toRecord(entry: AuditEntry, chain: { time: string; replica: string; head: ChainHead | undefined; key: AuditKey }): AuditRecord {
  if (!isEvent(entry.event)) throw new Error('unknown audit event; the record was not written')
  const unsealed: Unsealed = {
    v: 2,
    time: chain.time,
    replica: chain.replica,
    seq: (chain.head?.seq ?? 0) + 1,
    kid: chain.key.kid,
    event: entry.event,
    member: text(entry.member),
    ...optionalFields(entry),
    prev: chain.head?.mac ?? null,
  }
  return { ...unsealed, mac: macOf(unsealed, chain.key) }
}

const HEX64 = /^[0-9a-f]{64}$/
const KID = /^[0-9a-f]{8}$/

/** Why these parsed fields are not the fields of a version 2 record, or undefined if they are. */
function shapeProblem(fields: Record<string, unknown>): string | undefined {
  const known = new Set<string>(FIELD_ORDER)
  const unexpected = Object.keys(fields).find((name) => !known.has(name))
  if (unexpected !== undefined) return `unexpected field ${JSON.stringify(unexpected)}`
  for (const name of ['time', 'replica', 'kid', 'event', 'member']) {
    if (typeof fields[name] !== 'string') return `field ${name} is missing or not a string`
  }
  if (fields['replica'] === '') return 'field replica is empty'
  if (!KID.test(fields['kid'] as string)) return 'field kid is not 8 hex digits'
  if (!isEvent(fields['event'])) return `unknown event ${JSON.stringify(fields['event'])}`
  for (const name of OPTIONAL_TEXT) {
    if (name in fields && typeof fields[name] !== 'string') return `field ${name} is not a string`
  }
  const whole = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
  if (!whole(fields['seq'])) return 'field seq is missing or not a whole number'
  if ((fields['seq'] as number) < 1) return 'field seq is less than 1'
  for (const name of OPTIONAL_NUMBER) {
    if (name in fields && !whole(fields[name])) return `field ${name} is not a whole number`
  }
  const prev = fields['prev']
  if (prev !== null && !(typeof prev === 'string' && HEX64.test(prev))) return 'field prev is neither null nor a MAC (64 hex digits)'
  if (typeof fields['mac'] !== 'string' || !HEX64.test(fields['mac'])) return 'field mac is missing or not 64 hex digits'
  return undefined
}

/** Whether the record's MAC is right under the key it names, compared in constant time. */
function macProblem(record: AuditRecord, keys: AuditKeys): string | undefined {
  const key = keys.byKid(record.kid)
  if (key === undefined) {
    return `unknown key id ${JSON.stringify(record.kid)}: written under another secret, or forged; give the secret (and C66_PROXY_PREVIOUS_SECRETS) that wrote it`
  }
  // Both sides are 64 hex digits (checked above), so both buffers are 32 bytes.
  const expected = Buffer.from(macOf(record, key), 'hex')
  if (!timingSafeEqual(expected, Buffer.from(record.mac, 'hex'))) return 'MAC does not match: the line was edited or forged'
  return undefined
}

/**
 * Reads one log line back: the parsed record, or why the line is not one. A line is a record only
 * if it is exactly the canonical serialisation of its own fields (so an added field, a reordered
 * one or extra whitespace is caught) and its MAC is right under a key in `keys`. Chain order is
 * the verifier's job.
 */
export function parseRecord(line: string, keys: AuditKeys): { record: AuditRecord } | { reason: string } {
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    return { reason: 'not valid JSON (a cut or damaged line)' }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { reason: 'not a JSON object' }
  const fields = parsed as Record<string, unknown>
  // Version 1 lines carried an unkeyed SHA-256 that anyone could recompute; nothing was released
  // with them, so they are refused rather than trusted.
  if (fields['v'] === 1) return { reason: 'record version 1 is unkeyed; start a new audit log' }
  if (fields['v'] !== 2) return { reason: `unsupported record version ${JSON.stringify(fields['v'])}` }
  const shape = shapeProblem(fields)
  if (shape !== undefined) return { reason: shape }
  const record = fields as unknown as AuditRecord
  const mac = macProblem(record, keys)
  if (mac !== undefined) return { reason: mac }
  if (serialize(record) !== line) return { reason: 'line is not in canonical form (fields reordered or reformatted)' }
  return { record }
}
