import { rename, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Clock } from '../clock.js'
import { FileTokenStore } from './file-store.js'
import { followingKeyRing } from './following-key-ring.js'
import { fsyncDirectory, writeFileAtomically } from './fs-safety.js'
import {
  generateSecret,
  KEY_FILE_NAME,
  keyRingFromSecrets,
  loadKeyRing,
  NEXT_KEY_FILE_NAME,
  parseSecret,
  readKeyFileIfPresent,
  readOrCreateKeyFile,
} from './keys.js'

/**
 * Opening the embedded store the way the server and every CLI command should: keys from the same
 * settings, and a store that cannot be read or opened stops the caller here (StoreError naming the
 * file and the cause) instead of failing later or being reset.
 */

export interface EmbeddedStoreSettings {
  /** The store file; the caller decides the default (the user's config directory). */
  readonly path: string
  readonly env: Readonly<Record<string, string | undefined>>
  /** Local mode may generate `secret.key` beside the store. */
  readonly allowGeneratedKey: boolean
  readonly clock: Clock
}

export async function openFileTokenStore(settings: EmbeddedStoreSettings): Promise<FileTokenStore> {
  const dir = dirname(settings.path)
  const loaded = await loadKeyRing({ env: settings.env, storeDir: dir, allowGeneratedKey: settings.allowGeneratedKey })
  // Sealed with the generated key file: follow it through a `secret rotate` run while we live.
  const keys = loaded.source === join(dir, KEY_FILE_NAME) ? followingKeyRing(dir, loaded) : loaded
  const store = new FileTokenStore({ path: settings.path, keys, clock: settings.clock })
  await store.check()
  return store
}

/**
 * `secret rotate` for local mode's generated key: a new key, every record re-sealed with it, the
 * old key gone. Crash-safe in this order: the new key is saved as `secret.key.next` (which
 * loadKeyRing also accepts for opening), the store is re-sealed in one atomic write, and only then
 * does `secret.key.next` replace `secret.key`. A crash at any step leaves a store some key opens.
 */
export async function rotateGeneratedKey(path: string, clock: Clock): Promise<{ resealed: number; kid: string }> {
  const dir = dirname(path)
  const keyFile = join(dir, KEY_FILE_NAME)
  const nextFile = join(dir, NEXT_KEY_FILE_NAME)
  // An interrupted rotation is finished first: its key may already seal the store, so it must not be overwritten.
  const interrupted = await readKeyFileIfPresent(nextFile)
  if (interrupted !== undefined) await resealAndPromote(path, interrupted, await readOrCreateKeyFile(keyFile), clock)
  const old = await readOrCreateKeyFile(keyFile)
  const next = generateSecret()
  await writeFileAtomically(nextFile, `${next}\n`)
  return resealAndPromote(path, parseSecret(next, nextFile), old, clock)
}

async function resealAndPromote(path: string, next: Buffer, old: Buffer, clock: Clock): Promise<{ resealed: number; kid: string }> {
  const dir = dirname(path)
  const keys = keyRingFromSecrets(next, [old], join(dir, NEXT_KEY_FILE_NAME))
  const store = new FileTokenStore({ path, keys, clock })
  try {
    const resealed = await store.reseal()
    await rename(join(dir, NEXT_KEY_FILE_NAME), join(dir, KEY_FILE_NAME))
    await fsyncDirectory(dir)
    return { resealed, kid: keys.current.kid }
  } finally {
    await store.close()
  }
}

/** Whether a rotation of the generated key was interrupted (for `status` and `secret rotate` to mention). */
export async function hasInterruptedRotation(path: string): Promise<boolean> {
  return stat(join(dirname(path), NEXT_KEY_FILE_NAME)).then(
    () => true,
    () => false,
  )
}
