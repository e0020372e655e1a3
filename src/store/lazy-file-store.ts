import { stat } from 'node:fs/promises'
import type { FileTokenStore } from './file-store.js'
import { openFileTokenStore, type EmbeddedStoreSettings } from './embedded.js'
import type { StoredToken, TokenStore } from './types.js'

/**
 * The embedded store as the proxy and the CLI use it: nothing is created on disk (no directory,
 * no generated key) until something is written. A user who only uses CLOUD66_ACCESS_TOKEN never
 * gets a store; `status` never creates one. An existing store is opened — and checked — on first
 * use, so a store that cannot be read or decrypted still stops the caller with a clear message.
 */
export class LazyFileStore implements TokenStore {
  readonly kind = 'file'
  readonly location: string
  #opened: Promise<FileTokenStore> | undefined

  constructor(private readonly settings: EmbeddedStoreSettings) {
    this.location = settings.path
  }

  async #store(create: boolean): Promise<FileTokenStore | undefined> {
    if (this.#opened) return this.#opened
    if (!create && !(await exists(this.settings.path))) return undefined
    const opening = openFileTokenStore(this.settings)
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
  async close(): Promise<void> {
    const opened = this.#opened
    this.#opened = undefined
    await (await opened?.catch(() => undefined))?.close()
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
