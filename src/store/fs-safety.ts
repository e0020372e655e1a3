import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { StoreError } from './types.js'

/**
 * File-system steps the store relies on for privacy and crash safety.
 *
 * Permissions policy: a directory the store creates gets mode 0700 and every file it writes 0600.
 * An existing directory is never chmod'ed (the operator may have pointed the store into $HOME or a
 * shared folder, and changing that behind their back would surprise them), but one that other users
 * can write to, or that another user owns, is refused: whoever can write there can swap the store or
 * its key file.
 */

const isWindows = process.platform === 'win32'

/** Creates `dir` (mode 0700) if missing and refuses one that others could tamper with. */
export async function makePrivateDirectory(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new StoreError('store_unavailable', `Cannot create the token store directory ${dir} (${errnoCode(err)}).`, { cause: err })
  }
  await assertPrivateDirectory(dir)
}

export async function assertPrivateDirectory(dir: string): Promise<void> {
  if (isWindows) return
  const info = await stat(dir)
  const uid = process.getuid?.()
  if ((info.mode & 0o022) !== 0) {
    throw new StoreError(
      'store_unavailable',
      `The token store directory ${dir} is writable by other users (mode ${(info.mode & 0o777).toString(8)}): they could replace the store. Run \`chmod 700 ${dir}\` or choose another store path.`,
    )
  }
  if (uid !== undefined && info.uid !== uid && info.uid !== 0) {
    throw new StoreError(
      'store_unavailable',
      `The token store directory ${dir} belongs to another user (uid ${info.uid}): they could replace the store. Choose a directory of your own.`,
    )
  }
}

/** Makes a rename or link in `dir` durable. Platforms that cannot fsync a directory skip it. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle
  try {
    handle = await open(dir, fsConstants.O_RDONLY)
    await handle.sync()
  } catch (err) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'EACCES'].includes(errnoCode(err))) throw err
  } finally {
    await handle?.close()
  }
}

/** The name pattern of this file's temporary siblings, so leftovers of a crashed writer can be found. */
function tempPrefix(path: string): string {
  return `.${basename(path)}.`
}

/**
 * Replaces `path` with `data` so that a crash at any moment leaves either the old file or the new
 * one: write a private temp file in the same directory, fsync it, rename it over, fsync the directory.
 */
export async function writeFileAtomically(path: string, data: string): Promise<void> {
  const dir = dirname(path)
  const temp = join(dir, `${tempPrefix(path)}${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600)
  try {
    try {
      await handle.writeFile(data, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
  } catch (err) {
    await unlink(temp).catch(() => undefined)
    throw err
  }
  await fsyncDirectory(dir)
}

/**
 * Deletes temp files a killed writer left behind. Only call it while holding the write lock: then no
 * live writer can own one.
 */
export async function removeLeftoverTemps(path: string): Promise<number> {
  const prefix = tempPrefix(path)
  let names: string[]
  try {
    names = await readdir(dirname(path))
  } catch {
    return 0
  }
  const leftovers = names.filter((name) => name.startsWith(prefix) && name.endsWith('.tmp'))
  await Promise.all(leftovers.map((name) => unlink(join(dirname(path), name)).catch(() => undefined)))
  return leftovers.length
}

export function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException | undefined)?.code ?? 'error'
}
