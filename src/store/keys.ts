import { createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { link, open, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ConfigError } from '../errors.js'
import { NotATokenFile, readTokenFile } from '../formats/read-token-file.js'
import { fsyncDirectory, makePrivateDirectory } from './fs-safety.js'

/**
 * The key ring of the token store: the secret that seals new records, plus older secrets that may
 * still open records sealed before a rotation. Keys are derived with HKDF-SHA256, never used raw.
 */

/** Bytes of entropy a secret must carry (AES-256 needs a 256-bit key). */
const MIN_SECRET_BYTES = 32
const HKDF_SALT = Buffer.from('c66-proxy', 'utf8')
const KEY_INFO = Buffer.from('c66-proxy store key v1', 'utf8')
// A separate HKDF output names the key, so a kid in the store file says nothing about the key itself.
const KID_INFO = Buffer.from('c66-proxy key id v1', 'utf8')

/** The name of the key file that local mode generates beside the store. */
export const KEY_FILE_NAME = 'secret.key'
/** The key a rotation of the generated key is moving to (see embedded.ts); it can open records until promoted. */
export const NEXT_KEY_FILE_NAME = 'secret.key.next'

export interface StoreKey {
  /** 8 hex characters; recorded beside every sealed value. */
  readonly kid: string
  /** AES-256 key material. A KeyObject never shows its bytes in logs or util.inspect. */
  readonly key: KeyObject
}

export interface KeyRing {
  /** Seals every new record. */
  readonly current: StoreKey
  /** The key with this id: the current one or a previous one (previous keys only open). */
  byId(kid: string): StoreKey | undefined
  /** Where the current secret came from, for messages: a setting name or the key file path. */
  readonly source: string
}

/** A new secret for C66_PROXY_SECRET: 32 random bytes, base64url. */
export function generateSecret(): string {
  return randomBytes(MIN_SECRET_BYTES).toString('base64url')
}

/**
 * Decodes a secret written as hex (64+ hex digits) or base64/base64url (43+ characters).
 * Errors name `settingName` and never the value: it is a credential even when malformed.
 */
export function parseSecret(text: string, settingName: string): Buffer {
  const value = text.trim()
  const fail = (why: string): never => {
    throw new ConfigError([
      {
        setting: settingName,
        message: `${why}; it must hold at least ${MIN_SECRET_BYTES} random bytes written as hex (64+ hex digits) or base64/base64url (43+ characters). Generate one with \`c66-proxy secret generate\``,
      },
    ])
  }
  if (value === '') return fail('is empty')
  let bytes: Buffer
  // Hex digits only means hex, although base64 would decode it too: read as base64, 62 hex digits
  // (31 bytes of entropy) would pass as 46 bytes. Random base64 is all hex digits with odds of ~1e-20.
  if (/^[0-9a-fA-F]+$/.test(value)) {
    if (value.length % 2 !== 0) return fail('looks like hex but has an odd number of digits')
    bytes = Buffer.from(value, 'hex')
  } else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
    bytes = Buffer.from(value, 'base64')
  } else {
    return fail('is neither hex nor base64')
  }
  if (bytes.length < MIN_SECRET_BYTES) return fail(`holds only ${bytes.length} bytes`)
  return bytes
}

/**
 * A 32-byte key and its 4-byte id (8 hex characters) from one secret, each from HKDF-SHA256 under
 * a label of its own: the id can be printed without telling anything about the key, and each use
 * (store, audit) has its own labels, so one key says nothing about another.
 */
export function deriveLabelledKey(secret: Buffer, keyLabel: Buffer, kidLabel: Buffer): { kid: string; key: KeyObject } {
  const key = Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, keyLabel, 32))
  const kid = Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, kidLabel, 4)).toString('hex')
  return { kid, key: createSecretKey(key) }
}

/** The key of `current` and a lookup by id over it and the keys of every `previous` secret. */
export function keysById<K extends { kid: string }>(
  derive: (secret: Buffer) => K,
  current: Buffer,
  previous: readonly Buffer[],
): { current: K; byKid: (kid: string) => K | undefined } {
  const byKid = new Map<string, K>()
  for (const secret of previous) {
    const key = derive(secret)
    byKid.set(key.kid, key)
  }
  const currentKey = derive(current)
  byKid.set(currentKey.kid, currentKey)
  return { current: currentKey, byKid: (kid) => byKid.get(kid) }
}

/** Derives the AES-256 key and its id from a secret. */
export function deriveKey(secret: Buffer): StoreKey {
  return deriveLabelledKey(secret, KEY_INFO, KID_INFO)
}

/** A ring that seals with `current` and also opens with every `previous` secret. */
export function keyRingFromSecrets(current: Buffer, previous: readonly Buffer[] = [], source = 'secret'): KeyRing {
  const keys = keysById(deriveKey, current, previous)
  return { current: keys.current, byId: keys.byKid, source }
}

export interface KeySources {
  /** The environment (or a subset of it): C66_PROXY_SECRET, C66_PROXY_SECRET_FILE, C66_PROXY_PREVIOUS_SECRETS. */
  readonly env: Readonly<Record<string, string | undefined>>
  /** The store's directory: local mode keeps its generated key file here. */
  readonly storeDir: string
  /** Local mode may generate a key file; a shared gateway must be given its secret. */
  readonly allowGeneratedKey: boolean
}

/** Builds the key ring from the settings, generating the local key file on first use. */
export async function loadKeyRing(sources: KeySources): Promise<KeyRing> {
  const { env } = sources
  const previous = parsePrevious(env['C66_PROXY_PREVIOUS_SECRETS'])
  const inline = nonEmpty(env['C66_PROXY_SECRET'])
  const file = nonEmpty(env['C66_PROXY_SECRET_FILE'])
  if (inline !== undefined && file !== undefined) {
    throw new ConfigError([{ setting: 'C66_PROXY_SECRET_FILE', message: 'set either C66_PROXY_SECRET or C66_PROXY_SECRET_FILE, not both' }])
  }
  if (inline !== undefined) return keyRingFromSecrets(parseSecret(inline, 'C66_PROXY_SECRET'), previous, 'C66_PROXY_SECRET')
  if (file !== undefined) {
    const text = await readSecretFile(file, 'C66_PROXY_SECRET_FILE')
    return keyRingFromSecrets(parseSecret(text, 'C66_PROXY_SECRET_FILE'), previous, 'C66_PROXY_SECRET_FILE')
  }
  if (!sources.allowGeneratedKey) {
    throw new ConfigError([
      {
        setting: 'C66_PROXY_SECRET',
        message: 'the token store needs a secret: set C66_PROXY_SECRET or C66_PROXY_SECRET_FILE (generate one with `c66-proxy secret generate`)',
      },
    ])
  }
  const keyFile = join(sources.storeDir, KEY_FILE_NAME)
  const current = await readOrCreateKeyFile(keyFile)
  const interrupted = await readKeyFileIfPresent(join(sources.storeDir, NEXT_KEY_FILE_NAME))
  return keyRingFromSecrets(current, interrupted === undefined ? previous : [...previous, interrupted], keyFile)
}

function parsePrevious(list: string | undefined): Buffer[] {
  if (list === undefined) return []
  return list
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item, i) => parseSecret(item, `C66_PROXY_PREVIOUS_SECRETS (item ${i + 1})`))
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}

/** A secret file: like a token file, regular and small, and never waited on (a FIFO hung start-up). */
async function readSecretFile(path: string, setting: string): Promise<string> {
  try {
    return await readTokenFile(path)
  } catch (err) {
    if (err instanceof NotATokenFile) throw new ConfigError([{ setting, message: `${path} ${err.message}` }])
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new ConfigError([{ setting, message: `cannot read ${path} (${code})` }])
  }
}

/**
 * Local mode's key: read `<dir>/secret.key`, or create it. The new file is written in full under a
 * private name and then linked into place, which fails if the name exists: two processes starting
 * at once agree on one key, and no process ever reads a half-written key file.
 */
export async function readOrCreateKeyFile(keyFile: string): Promise<Buffer> {
  const existing = await readKeyFileIfPresent(keyFile)
  if (existing !== undefined) return existing
  const dir = dirname(keyFile)
  await makePrivateDirectory(dir)
  const temp = join(dir, `.${basename(keyFile)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600)
  try {
    await handle.writeFile(`${generateSecret()}\n`)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await link(temp, keyFile)
    await fsyncDirectory(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    // Another process created it first: use theirs.
  } finally {
    await unlink(temp).catch(() => undefined)
  }
  const created = await readKeyFileIfPresent(keyFile)
  if (created === undefined) throw new ConfigError([{ setting: keyFile, message: 'the key file vanished while it was being created' }])
  return created
}

/** A generated key file's secret, or undefined if there is no such file. Refuses a file others can read. */
export async function readKeyFileIfPresent(keyFile: string): Promise<Buffer | undefined> {
  let mode: number
  try {
    mode = (await stat(keyFile)).mode
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ConfigError([{ setting: keyFile, message: `cannot read the store's key file (${(err as NodeJS.ErrnoException).code ?? 'error'})` }])
  }
  // A key others could read may already be copied: refuse rather than quietly tighten it.
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new ConfigError([
      {
        setting: keyFile,
        message: `the store's key file is readable by other users (mode ${(mode & 0o777).toString(8)}); run \`chmod 600 ${keyFile}\` if nobody else could have copied it, otherwise rotate the secret`,
      },
    ])
  }
  return parseSecret(await readSecretFile(keyFile, keyFile), keyFile)
}
