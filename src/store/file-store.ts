import { createHash } from 'node:crypto'
import { chmod, readFile, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import type { Clock } from '../clock.js'
import { parseDocument, recordKey, serializeDocument, type Records, type SealedRecord } from './document.js'
import { assertPrivateDirectory, errnoCode, makePrivateDirectory, removeLeftoverTemps, writeFileAtomically } from './fs-safety.js'
import type { KeyRing } from './keys.js'
import { busForFile, LocalStoreBus } from './local-bus.js'
import { withFileLock, type FileLockOptions } from './lock-file.js'
import { open, seal } from './sealer.js'
import { decodeDoc, decodeOnce, decodeToken, encodeDoc, encodeOnce, encodeToken } from './token-codec.js'
import { StoreError, type StoreBus, type StoredToken, type TokenStore } from './types.js'

export interface FileTokenStoreOptions {
  /** The store file; its directory also holds `locks/` (and, in local mode, `secret.key`). */
  readonly path: string
  readonly keys: KeyRing
  /** Decides expiry of one-time values. Lock waits use real time: a fake clock must not stall them. */
  readonly clock: Clock
  /** How long to wait for a lock before `store_locked`. Default 15 s. */
  readonly lockTimeoutMs?: number
  /**
   * A lock its holder has not refreshed for this long is taken over. Default 10 s. Kept below the
   * wait, so a lock left by a holder we cannot check by pid (another container, a restarted one)
   * is taken over within one wait instead of failing it.
   */
  readonly staleLockMs?: number
}

/**
 * The embedded token store: one JSON file of sealed records (see document.ts), directory 0700,
 * file 0600 (permissions policy in fs-safety.ts).
 *
 * Writers take a cross-process lock, re-read the file (another process may have written since),
 * change it and replace it atomically; readers take no lock and see the old file or the new one.
 * A file that cannot be parsed or opened is reported and left as it is: writes refuse too, so a
 * wrong secret never costs the user the tokens sealed with the right one.
 *
 * A file store is for one replica: its bus reaches the store objects of this process that
 * use the same file, and no other process (see local-bus.ts). Several replicas need the Redis store.
 */
export class FileTokenStore implements TokenStore {
  readonly kind = 'file' as const
  readonly location: string
  readonly #dir: string
  readonly #locksDir: string
  readonly #keys: KeyRing
  readonly #clock: Clock
  readonly #lock: FileLockOptions
  readonly #bus: LocalStoreBus
  #ready: Promise<void> | undefined
  #closed = false

  constructor(options: FileTokenStoreOptions) {
    this.location = resolve(options.path)
    this.#dir = dirname(this.location)
    this.#locksDir = join(this.#dir, 'locks')
    this.#keys = options.keys
    this.#clock = options.clock
    this.#lock = { timeoutMs: options.lockTimeoutMs ?? 15_000, staleMs: options.staleLockMs ?? 10_000 }
    this.#bus = new LocalStoreBus(busForFile(this.location), () => this.#assertOpen())
  }

  async check(): Promise<void> {
    this.#assertOpen()
    if (await exists(this.#dir)) await assertPrivateDirectory(this.#dir)
    const records = await this.#read()
    if (records === undefined) return
    this.#openAll(records)
    // Our own file, sealed or not, is nobody else's business: tighten a mode someone loosened.
    if (process.platform !== 'win32' && ((await stat(this.location)).mode & 0o077) !== 0) await chmod(this.location, 0o600)
  }

  async getToken(caller: string): Promise<StoredToken | undefined> {
    this.#assertOpen()
    const key = recordKey.token(caller)
    const record = (await this.#read())?.get(key)
    return record === undefined ? undefined : decodeToken(open(this.#keys, key, record, this.location), key, this.location)
  }

  async putToken(caller: string, token: StoredToken): Promise<void> {
    const key = recordKey.token(caller)
    await this.#mutate((records) => {
      records.set(key, seal(this.#keys.current, key, encodeToken(token)))
      return { result: undefined, changed: true }
    }, true)
  }

  async deleteToken(caller: string): Promise<boolean> {
    return this.#mutate((records) => {
      const deleted = records.delete(recordKey.token(caller))
      return { result: deleted, changed: deleted }
    })
  }

  async listCallers(): Promise<string[]> {
    this.#assertOpen()
    const callers: string[] = []
    for (const key of (await this.#read())?.keys() ?? []) {
      const caller = recordKey.callerOf(key)
      if (caller !== undefined) callers.push(caller)
    }
    return callers.sort()
  }

  async putOnce(namespace: string, id: string, value: string, ttlMs: number): Promise<void> {
    const key = recordKey.once(namespace, id)
    await this.#mutate((records, now) => {
      const expiresAt = now + ttlMs
      records.set(key, { ...seal(this.#keys.current, key, encodeOnce(value, expiresAt)), expiresAt })
      return { result: undefined, changed: true }
    }, true)
  }

  async takeOnce(namespace: string, id: string): Promise<string | undefined> {
    const key = recordKey.once(namespace, id)
    // Read and delete happen in one locked write, so two processes cannot both take the value.
    return this.#mutate((records, now) => {
      const record = records.get(key)
      if (record === undefined) return { result: undefined, changed: false }
      records.delete(key)
      const once = decodeOnce(open(this.#keys, key, record, this.location), key, this.location)
      return { result: now < once.expiresAt ? once.value : undefined, changed: true }
    })
  }

  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    this.#assertOpen()
    await this.#ensureDirectories()
    return withFileLock(join(this.#locksDir, namedLockFile(basename(this.location), name)), name, this.#lock, work)
  }

  async reseal(): Promise<number> {
    return this.#mutate((records) => {
      for (const [key, record] of records) {
        const resealed = seal(this.#keys.current, key, open(this.#keys, key, record, this.location))
        records.set(key, record.expiresAt === undefined ? resealed : { ...resealed, expiresAt: record.expiresAt })
      }
      return { result: records.size, changed: records.size > 0 }
    })
  }

  async putDoc(namespace: string, id: string, value: string, ttlMs?: number): Promise<void> {
    const key = recordKey.doc(namespace, id)
    await this.#mutate((records, now) => {
      const expiresAt = ttlMs === undefined ? undefined : now + ttlMs
      const sealed = seal(this.#keys.current, key, encodeDoc(value, expiresAt))
      records.set(key, expiresAt === undefined ? sealed : { ...sealed, expiresAt })
      return { result: undefined, changed: true }
    }, true)
  }

  async getDoc(namespace: string, id: string): Promise<string | undefined> {
    this.#assertOpen()
    const key = recordKey.doc(namespace, id)
    const record = (await this.#read())?.get(key)
    return record === undefined ? undefined : this.#liveDoc(key, record)
  }

  async deleteDoc(namespace: string, id: string): Promise<boolean> {
    // #mutate has pruned expired records before `change` runs: a document still there is a live one.
    return this.#mutate((records) => {
      const deleted = records.delete(recordKey.doc(namespace, id))
      return { result: deleted, changed: deleted }
    })
  }

  async listDocs(namespace: string): Promise<Array<{ id: string; value: string }>> {
    this.#assertOpen()
    const docs: Array<{ id: string; value: string }> = []
    for (const [key, record] of (await this.#read()) ?? []) {
      const id = recordKey.docIdOf(namespace, key)
      if (id === undefined) continue
      const value = this.#liveDoc(key, record)
      if (value !== undefined) docs.push({ id, value })
    }
    return docs
  }

  get bus(): StoreBus {
    return this.#bus
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#bus.close()
  }

  /** A document's value, or undefined once its sealed expiry has passed by the store's clock. */
  #liveDoc(key: string, record: SealedRecord): string | undefined {
    const doc = decodeDoc(open(this.#keys, key, record, this.location), key, this.location)
    return doc.expiresAt === undefined || this.#clock.now() < doc.expiresAt ? doc.value : undefined
  }

  /**
   * The one way records change: under the write lock, re-read, refuse if anything cannot be opened,
   * prune expired one-time values and documents, apply `change`, and replace the file atomically if anything changed.
   */
  async #mutate<T>(change: (records: Records, now: number) => { result: T; changed: boolean }, adds = false): Promise<T> {
    this.#assertOpen()
    // Taking, deleting or resealing in a store that does not exist changes nothing: create nothing either.
    if (!adds && !(await exists(this.location))) return change(new Map(), this.#clock.now()).result
    await this.#ensureDirectories()
    const writeLock = join(this.#locksDir, `${basename(this.location)}.write.lock`)
    return withFileLock(writeLock, 'write', this.#lock, async () => {
      await removeLeftoverTemps(this.location)
      const records = (await this.#read()) ?? new Map<string, SealedRecord>()
      this.#openAll(records)
      const now = this.#clock.now()
      let pruned = 0
      for (const [key, record] of records) {
        if (record.expiresAt !== undefined && record.expiresAt <= now) pruned += Number(records.delete(key))
      }
      const { result, changed } = change(records, now)
      if (changed || pruned > 0) await writeFileAtomically(this.location, serializeDocument(records))
      return result
    })
  }

  /**
   * The last document read, by the identity of the file it came from. Every write replaces the
   * file by rename (a new inode), so an unchanged (ino, size, mtime) is an unchanged document: a
   * read then costs one stat instead of reading, parsing and validating the whole file (the
   * gateway reads keys and members on its request path).
   */
  #parsed: { readonly id: string; readonly records: Records } | undefined

  /** The records (a copy the caller may change), or undefined when there is no store file yet. */
  async #read(): Promise<Records | undefined> {
    let id: string
    try {
      const st = await stat(this.location)
      id = `${st.ino}:${st.size}:${st.mtimeMs}`
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined
      id = '' // let readFile below report it
    }
    if (id !== '' && this.#parsed?.id === id) return new Map(this.#parsed.records)
    const records = await this.#readParsed()
    if (records && id !== '') this.#parsed = { id, records: new Map(records) }
    return records
  }

  async #readParsed(): Promise<Records | undefined> {
    let text: string
    try {
      text = await readFile(this.location, 'utf8')
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined
      throw new StoreError(
        'store_unreadable',
        `Cannot read the token store ${this.location} (${errnoCode(err)}); check that it is a file owned by the user running c66-proxy, mode 600.`,
        { cause: err },
      )
    }
    return parseDocument(text, this.location)
  }

  /** Opens and decodes every record: throws the first StoreError, which names the file and the cause. */
  #openAll(records: Records): void {
    for (const [key, record] of records) {
      const plaintext = open(this.#keys, key, record, this.location)
      if (key.startsWith('token:')) decodeToken(plaintext, key, this.location)
      else if (key.startsWith('once:')) decodeOnce(plaintext, key, this.location)
      else if (key.startsWith('doc:')) decodeDoc(plaintext, key, this.location)
    }
  }

  #ensureDirectories(): Promise<void> {
    this.#ready ??= (async () => {
      await makePrivateDirectory(this.#dir)
      await makePrivateDirectory(this.#locksDir)
    })().catch((err: unknown) => {
      this.#ready = undefined
      throw err
    })
    return this.#ready
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError('store_unavailable', `The token store ${this.location} was closed.`)
  }
}

/** A lock file name for any lock name: readable where possible, and a hash so names cannot collide. */
function namedLockFile(storeName: string, name: string): string {
  const readable = name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40)
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16)
  return `${storeName}.lock-${readable}-${hash}.lock`
}

/** False only for a path that is not there: any other failure is left for the read to report. */
function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (err: unknown) => errnoCode(err) !== 'ENOENT',
  )
}
