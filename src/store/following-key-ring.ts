import { readFileSync, statSync, type Stats } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../errors.js'
import { deriveKey, KEY_FILE_NAME, NEXT_KEY_FILE_NAME, parseSecret, type KeyRing, type StoreKey } from './keys.js'

/**
 * `loaded`, the key ring of a store sealed with local mode's generated key file, for a process that keeps
 * running while `c66-proxy secret rotate` replaces that key (the server). Without it the server
 * kept sealing with the retired key, whose records nobody could open once the rotation removed
 * it, and could not open the records the rotation re-sealed (/-/login answered 500).
 *
 * So the ring follows the files: every key it has seen keeps opening records, a record sealed by a
 * key it does not know makes it read the files again, and each seal (writes are rare: a login, a
 * refresh) checks them first. A rotation writes `secret.key.next`, re-seals the store under the
 * store's lock and then renames the file over `secret.key`; a seal that sees `secret.key.next`
 * uses it, so a write landing between the re-seal and the rename is sealed with the key that stays.
 */
export function followingKeyRing(storeDir: string, loaded: KeyRing): KeyRing {
  const keyFile = join(storeDir, KEY_FILE_NAME)
  const nextFile = join(storeDir, NEXT_KEY_FILE_NAME)
  const byKid = new Map<string, StoreKey>()
  const remember = (secret: Buffer): StoreKey => {
    const key = deriveKey(secret)
    const known = byKid.get(key.kid) ?? loaded.byId(key.kid)
    if (known !== undefined) return known
    byKid.set(key.kid, key)
    return key
  }
  let current = loaded.current
  let seen = signature(statOrUndefined(keyFile))

  /** The key to seal with now: the rotation's target if one is under way, else the key file's. */
  const refresh = (): StoreKey => {
    const next = statOrUndefined(nextFile)
    if (next !== undefined) {
      const secret = readKeyFileSync(nextFile, next)
      if (secret !== undefined) return remember(secret)
    }
    const stats = statOrUndefined(keyFile)
    const now = signature(stats)
    if (now !== seen && stats !== undefined) {
      const secret = readKeyFileSync(keyFile, stats)
      if (secret !== undefined) {
        current = remember(secret)
        seen = now
      }
    }
    return current
  }

  return {
    get current() {
      return refresh()
    },
    byId(kid) {
      const known = loaded.byId(kid) ?? byKid.get(kid)
      if (known !== undefined) return known
      refresh()
      return byKid.get(kid)
    },
    source: keyFile,
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

const signature = (s: Stats | undefined): string => (s === undefined ? 'none' : `${s.ino}:${s.size}:${s.mtimeMs}`)

/** The key file's secret, refusing one others can read (as at start-up); undefined if it vanished. */
function readKeyFileSync(path: string, stats: Stats): Buffer | undefined {
  if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
    throw new ConfigError([{ setting: path, message: `the store's key file is readable by other users (mode ${(stats.mode & 0o777).toString(8)})` }])
  }
  try {
    return parseSecret(readFileSync(path, 'utf8'), path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}
