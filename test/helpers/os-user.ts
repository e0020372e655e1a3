import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Creating OS users and running commands as them needs root (CI runs as root). */
export const IS_ROOT = process.getuid?.() === 0
export const NOT_ROOT_REASON = 'needs root to create a second OS user (CI runs as root)'

export interface OsUser {
  readonly name: string
  readonly uid: number
}

/**
 * A real second account on this machine (no home, no login shell), made once for a test file:
 * call from test.before, and removeOsUser from test.after.always.
 */
export async function createOsUser(): Promise<OsUser> {
  const name = `c66t${randomBytes(4).toString('hex')}`
  await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name])
  const { stdout } = await run('id', ['-u', name])
  return { name, uid: Number(stdout.trim()) }
}

export async function removeOsUser(user: OsUser | undefined): Promise<void> {
  if (user !== undefined) await run('userdel', [user.name]).catch(() => undefined)
}

export interface CurlResult {
  /** curl's exit code: 0 answered, 7 could not connect. */
  readonly exit: number | null
  readonly status: number
  readonly body: string
  readonly stderr: string
}

/** curl run as `user` through runuser (or as this process's user when user is undefined). */
export function curlAs(user: string | undefined, args: readonly string[]): Promise<CurlResult> {
  const curl = ['curl', '-sS', '--max-time', '10', '-o', '-', '-w', '\n%{http_code}', ...args]
  const [cmd, ...argv] = user === undefined ? curl : ['runuser', '-u', user, '--', ...curl]
  return new Promise((resolve, reject) => {
    const child = spawn(cmd ?? 'curl', argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    child.on('error', reject)
    child.on('close', (exit) => {
      const nl = out.lastIndexOf('\n')
      resolve({ exit, status: Number(out.slice(nl + 1)), body: out.slice(0, nl), stderr: err })
    })
  })
}
