import { stat } from 'node:fs/promises'
import type { EmbeddedStoreSettings } from './embedded.js'
import type { FileTokenStore } from './file-store.js'
import { busForFile, LocalStoreBus } from './local-bus.js'
import { StoreError, type StoreBus, type StoredToken, type TokenStore } from './types.js'

/**
 * The embedded store as the proxy and the CLI use it: nothing is created on disk (no directory,
 * no generated key) until something is written. A user who only uses CLOUD66_ACCESS_TOKEN never
 * gets a store; `status` never creates one. An existing store is opened — and checked — on first
 * use, so a store that cannot be read or decrypted still stops the caller with a clear message.
 * Its bus is the in-process bus of the store file (local-bus.ts), so it works before the
 * file exists and never create it.
 */
export class LazyFileStore implements TokenStore {
  readonly kind = 'file'
  readonly location: string
  #opened: Promise<FileTokenStore> | undefined
  readonly #bus: LocalStoreBus
  #closed = false

  constructor(private readonly settings: EmbeddedStoreSettings) {
    this.location = settings.path
    this.#bus = new LocalStoreBus(busForFile(settings.path), () => this.#assertOpen())
  }

  async #store(create: boolean): Promise<FileTokenStore | undefined> {
    this.#assertOpen()
    if (this.#opened) return this.#opened
    if (!create && !(await exists(this.settings.path))) return undefined
    // The store's code (and zod, which checks its records) is loaded with the first store: a proxy
    // whose token comes from the environment or a file never loads it (~7 MiB of idle RSS).
    const opening = import('./embedded.js').then(({ openFileTokenStore }) => openFileTokenStore(this.settings))
    this.#opened = opening
    // A failed open is not remembered: the next call reports the (maybe fixed) state again.
    opening.catch(() => {
      if (this.#opened === opening) this.#opened = undefined
    })
    return opening
  }

  async check(): Promise<void> {
    const s = await this.#store(false)
    await s?.check()
  }
  async getToken(caller: string): Promise<StoredToken | undefined> {
    return (await this.#store(false))?.getToken(caller)
  }
  async putToken(caller: string, token: StoredToken): Promise<void> {
    await (await this.#create()).putToken(caller, token)
  }
  async deleteToken(caller: string): Promise<boolean> {
    return (await (await this.#store(false))?.deleteToken(caller)) ?? false
  }
  async listCallers(): Promise<string[]> {
    return (await (await this.#store(false))?.listCallers()) ?? []
  }
  async putOnce(namespace: string, id: string, value: string, ttlMs: number): Promise<void> {
    await (await this.#create()).putOnce(namespace, id, value, ttlMs)
  }
  async takeOnce(namespace: string, id: string): Promise<string | undefined> {
    return (await this.#store(false))?.takeOnce(namespace, id)
  }
  async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    return (await this.#create()).withLock(name, work)
  }
  async reseal(): Promise<number> {
    return (await (await this.#store(false))?.reseal()) ?? 0
  }
  async putDoc(namespace: string, id: string, value: string, ttlMs?: number): Promise<void> {
    await (await this.#create()).putDoc(namespace, id, value, ttlMs)
  }
  async getDoc(namespace: string, id: string): Promise<string | undefined> {
    return (await this.#store(false))?.getDoc(namespace, id)
  }
  async deleteDoc(namespace: string, id: string): Promise<boolean> {
    return (await (await this.#store(false))?.deleteDoc(namespace, id)) ?? false
  }
  async listDocs(namespace: string): Promise<Array<{ id: string; value: string }>> {
    return (await (await this.#store(false))?.listDocs(namespace)) ?? []
  }
  get bus(): StoreBus {
    return this.#bus
  }
  async close(): Promise<void> {
    // Closed means closed: without this, the next call would quietly open the file again.
    this.#closed = true
    this.#bus.close()
    const opened = this.#opened
    this.#opened = undefined
    await (await opened?.catch(() => undefined))?.close()
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError('store_unavailable', `The token store ${this.location} was closed.`)
  }

  async #create(): Promise<FileTokenStore> {
    return (await this.#store(true)) as FileTokenStore
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}
