import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs'
import { open, stat } from 'node:fs/promises'

/**
 * The most a token file may hold. The cx toolbelt's JSON is about 150 bytes and a long bearer
 * token a few KiB; Node's default limit for all request headers together is 16 KiB, so a token
 * larger than this could never be sent. Files are re-read on every change and every second, so
 * the limit is also what one re-read may cost at most.
 */
export const TOKEN_FILE_MAX_BYTES = 16 * 1024

/** The path names something that cannot be a token file; the message never holds its content. */
export class NotATokenFile extends Error {
  override readonly name = 'NotATokenFile'
}

// Both are undefined on Windows, which has no FIFOs or terminals to open by path.
const NON_BLOCKING = (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0)

/**
 * Reads a token file (`--token-file`, the cx toolbelt's files) as UTF-8 without ever blocking:
 * the path must name a regular file, directly or through symlinks (a mounted secret is a symlink),
 * of at most TOKEN_FILE_MAX_BYTES. Anything else rejects with NotATokenFile before a byte is read;
 * a path that cannot be looked at rejects with the file system's error (ENOENT, EACCES, …).
 */
export async function readTokenFile(path: string): Promise<string> {
  // stat first so that a device is never opened (opening one can have effects of its own); the
  // descriptor is checked again because the path may be replaced between the two calls, and
  // O_NONBLOCK makes even a FIFO swapped in meanwhile open at once instead of waiting for a writer.
  checkTokenFile(await stat(path))
  const handle = await open(path, constants.O_RDONLY | NON_BLOCKING)
  try {
    checkTokenFile(await handle.stat())
    // One byte more than allowed tells a file that grew since fstat from one that did not.
    const buffer = Buffer.alloc(TOKEN_FILE_MAX_BYTES + 1)
    let length = 0
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length)
      if (bytesRead === 0) break
      length += bytesRead
    }
    if (length > TOKEN_FILE_MAX_BYTES) throw tooBig(length)
    return buffer.toString('utf8', 0, length)
  } finally {
    await handle.close()
  }
}

/**
 * The same, synchronously, for the secret files read while the configuration loads
 * (C66_CLIENT_SECRET_FILE, C66_PROXY_REDIS_PASSWORD_FILE): a FIFO there hung start-up.
 */
export function readTokenFileSync(path: string): string {
  checkTokenFile(statSync(path))
  const fd = openSync(path, constants.O_RDONLY | NON_BLOCKING)
  try {
    checkTokenFile(fstatSync(fd))
    const buffer = Buffer.alloc(TOKEN_FILE_MAX_BYTES + 1)
    let length = 0
    while (length < buffer.length) {
      const n = readSync(fd, buffer, length, buffer.length - length, length)
      if (n === 0) break
      length += n
    }
    if (length > TOKEN_FILE_MAX_BYTES) throw tooBig(length)
    return buffer.toString('utf8', 0, length)
  } finally {
    closeSync(fd)
  }
}

function checkTokenFile(stats: Stats): void {
  if (!stats.isFile()) throw new NotATokenFile(`is not a regular file (${kindOf(stats)})`)
  if (stats.size > TOKEN_FILE_MAX_BYTES) throw tooBig(stats.size)
}

function tooBig(size: number): NotATokenFile {
  return new NotATokenFile(`is ${formatBytes(size)}; a token file is at most ${formatBytes(TOKEN_FILE_MAX_BYTES)}`)
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO'
  if (stats.isCharacterDevice()) return 'a character device'
  if (stats.isBlockDevice()) return 'a block device'
  if (stats.isDirectory()) return 'a directory'
  if (stats.isSocket()) return 'a socket'
  return 'of an unknown kind'
}

/** Binary units with one decimal, rounded up so that a size over the limit never reads as the limit. */
function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB']
  let unit = 0
  while (unit < units.length - 1 && bytes >= 1024 ** (unit + 1)) unit += 1
  if (unit === 0) return `${bytes} bytes`
  const value = Math.ceil((bytes / 1024 ** unit) * 10) / 10
  return `${String(value)} ${units[unit]}`
}
