import { chmod, lstat, mkdir, unlink } from 'node:fs/promises'
import { connect } from 'node:net'
import { dirname } from 'node:path'

/** Why a unix socket path cannot be listened on; the message names the path and the fix. */
export class SocketPathError extends Error {
  readonly code = 'ESOCKETPATH'
}

/**
 * Makes `path` ready to listen on, so that only this OS user can ever connect: its directory is
 * created 0700 when missing and must otherwise belong to this user and be closed to everyone else
 * (between bind() and the chmod to 0600 the socket has the umask's mode; the directory is what
 * keeps others out in that moment, and on systems that ignore socket permissions altogether). A
 * socket left behind by a proxy that died is removed; one something still answers on is not.
 */
export async function prepareSocketPath(path: string): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const d = await lstat(dir)
  const own = process.getuid?.()
  if (!d.isDirectory()) throw new SocketPathError(`${dir} is not a directory`)
  if (own !== undefined && d.uid !== own) throw new SocketPathError(`${dir} belongs to another user (uid ${d.uid}); put the socket in a directory of your own`)
  if ((d.mode & 0o077) !== 0) {
    throw new SocketPathError(
      `${dir} can be entered by other users (mode ${(d.mode & 0o777).toString(8)}); the socket needs a directory only you can use (chmod 700 ${dir}, or another one)`,
    )
  }
  let existing
  try {
    existing = await lstat(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  if (!existing.isSocket()) throw new SocketPathError(`${path} exists and is not a socket; it is left alone`)
  if (await answers(path)) throw Object.assign(new Error(`${path} is in use`), { code: 'EADDRINUSE' })
  await unlink(path)
}

/** After listen(): the socket itself is 0600 too. */
export async function restrictSocket(path: string): Promise<void> {
  await chmod(path, 0o600)
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path)
    s.once('connect', () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}
