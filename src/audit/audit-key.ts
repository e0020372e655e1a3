import type { KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError } from '../errors.js'
import { deriveLabelledKey, keysById, parseSecret } from '../store/keys.js'

/**
 * The keys that MAC the audit log. They are derived (HKDF-SHA256) from the gateway secret with
 * labels of their own, so an audit key is neither the store's sealing key nor the session cookie
 * key: knowing one of them (or a MAC made with one) says nothing about the others.
 */

const MAC_INFO = Buffer.from('c66-proxy audit mac v1', 'utf8')
// The kid comes from its own HKDF output, so a kid printed in every line tells nothing about the key.
const KID_INFO = Buffer.from('c66-proxy audit key id v1', 'utf8')

const SECRET = 'C66_PROXY_SECRET'
const SECRET_FILE = 'C66_PROXY_SECRET_FILE'
const PREVIOUS = 'C66_PROXY_PREVIOUS_SECRETS'

export interface AuditKey {
  /** 8 hex characters, written in every line so that verify knows which secret sealed it. */
  readonly kid: string
  /** HMAC-SHA256 key. A KeyObject never shows its bytes in logs or util.inspect. */
  readonly key: KeyObject
}

export interface AuditKeys {
  /** MACs every new line. */
  readonly current: AuditKey
  /** The key with this id: the current one or one derived from a previous secret. */
  byKid(kid: string): AuditKey | undefined
}

/** The audit MAC key and its id for one secret (the secret's decoded bytes). */
export function deriveAuditKey(secret: Buffer): AuditKey {
  return deriveLabelledKey(secret, MAC_INFO, KID_INFO)
}

/** Keys that MAC with `current` and also check lines sealed under every `previous` secret. */
export function auditKeysFromSecrets(current: Buffer, previous: readonly Buffer[] = []): AuditKeys {
  return keysById(deriveAuditKey, current, previous)
}

/**
 * From C66_PROXY_SECRET or C66_PROXY_SECRET_FILE (exactly one), plus C66_PROXY_PREVIOUS_SECRETS
 * (comma-separated) for lines sealed before a rotation. Throws ConfigError naming the variable,
 * never echoing a value, when no secret is set or one is malformed. Synchronous: the gateway and
 * the CLI both read it once, at start.
 */
export function auditKeysFromEnv(env: Readonly<Record<string, string | undefined>>): AuditKeys {
  const inline = nonEmpty(env[SECRET])
  const file = nonEmpty(env[SECRET_FILE])
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError([{ setting: SECRET_FILE, message: `set either ${SECRET} or ${SECRET_FILE}, not both` }])
  }
  if (inline === undefined && file === undefined) {
    throw new ConfigError([
      {
        setting: `${SECRET} / ${SECRET_FILE}`,
        message: `the audit log is MACed with a key derived from the gateway secret: set ${SECRET} or ${SECRET_FILE} to the secret that wrote it (and ${PREVIOUS} for lines written before a rotation)`,
      },
    ])
  }
  const current = inline !== undefined ? parseSecret(inline, SECRET) : parseSecret(readSecretFile(file ?? ''), SECRET_FILE)
  return auditKeysFromSecrets(current, parsePrevious(env[PREVIOUS]))
}

function parsePrevious(list: string | undefined): Buffer[] {
  if (list === undefined) return []
  return list
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item, i) => parseSecret(item, `${PREVIOUS} (item ${i + 1})`))
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}

function readSecretFile(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    // The path is no secret; the error's own message is not copied (it could quote the file).
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new ConfigError([{ setting: SECRET_FILE, message: `cannot read ${path} (${code})` }])
  }
}
