import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { FileTokenStore, type FileTokenStoreOptions } from '../../src/store/file-store.js'
import { keyRingFromSecrets, type KeyRing } from '../../src/store/keys.js'
import { FakeClock } from '../helpers/fake-clock.js'

/** A fresh scratch directory, removed when the test ends. */
export async function scratchDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'c66-store-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** The path of a store whose directory does not exist yet (so the store creates it). */
export async function storePath(t: ExecutionContext): Promise<string> {
  return join(await scratchDir(t), 'c66-proxy', 'tokens.json')
}

export function newSecret(): Buffer {
  return randomBytes(32)
}

export function ring(current: Buffer, ...previous: Buffer[]): KeyRing {
  return keyRingFromSecrets(current, previous)
}

/** A FileTokenStore closed when the test ends. */
export function openFileStore(
  t: ExecutionContext,
  path: string,
  keys: KeyRing,
  options: Partial<Omit<FileTokenStoreOptions, 'path' | 'keys'>> = {},
): FileTokenStore {
  const store = new FileTokenStore({ path, keys, clock: options.clock ?? new FakeClock(), ...options })
  t.teardown(() => store.close())
  return store
}
