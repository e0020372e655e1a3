import { execFileSync } from 'node:child_process'
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'

/** The cx toolbelt's token file: the Go oauth.Token struct as JSON (cloud66-api.md §2.1). */
export function cxTokenJson(token: string): string {
  return `${JSON.stringify({ AccessToken: token, RefreshToken: '', Expiry: '0001-01-01T00:00:00Z', Extra: null })}\n`
}

/** What `cx dump-token | base64` gives, the value of CLOUD66_TOKEN. */
export function cloud66TokenValue(token: string): string {
  return Buffer.from(cxTokenJson(token).trimEnd()).toString('base64')
}

export interface TempHome {
  /** The directory to pass as HOME. */
  readonly home: string
  /** `$HOME/.cloud66`, created. */
  readonly cxDir: string
  /** A scratch directory beside HOME for --token-file and friends. */
  readonly scratch: string
  /** Writes `$HOME/.cloud66/<name>` (default cx.json) holding the cx JSON for `token`. */
  writeCx(token: string, name?: string): string
  /** Writes `$HOME/.cloud66/cxprofiles.json` with the given profiles (name → token_file). */
  writeProfiles(profiles: Record<string, string>, last?: string): string
}

/** A throw-away HOME with an empty `~/.cloud66`, removed when the test ends. */
export function tempHome(t: ExecutionContext): TempHome {
  const root = mkdtempSync(join(tmpdir(), 'c66-home-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const home = join(root, 'home')
  const cxDir = join(home, '.cloud66')
  const scratch = join(root, 'scratch')
  mkdirSync(cxDir, { recursive: true })
  mkdirSync(scratch)
  return {
    home,
    cxDir,
    scratch,
    writeCx(token, name = 'cx.json') {
      const path = join(cxDir, name)
      writeFileSync(path, cxTokenJson(token), { mode: 0o600 })
      return path
    },
    writeProfiles(profiles, last) {
      const path = join(cxDir, 'cxprofiles.json')
      const entries = Object.fromEntries(
        Object.entries(profiles).map(([name, file]) => [
          name,
          { name, token_file: file, base_url: 'https://app.cloud66.com', api_url: 'https://app.cloud66.com/api/3' },
        ]),
      )
      writeFileSync(path, JSON.stringify({ last_profile: last ?? Object.keys(profiles)[0] ?? 'default', profiles: entries }, null, 2))
      return path
    },
  }
}

/**
 * Things a path can name that are not a token file, made for real (a FIFO by mkfifo, a listening
 * unix socket, a sparse 512 MiB file): each `make` returns the path to pass as the token file.
 */
export interface FileKind {
  readonly kind: string
  make(t: ExecutionContext, dir: string): Promise<string>
  /** The problem `status` reports for it. */
  readonly problem: string
}

export const NOT_TOKEN_FILES: readonly FileKind[] = [
  { kind: 'an empty file', problem: 'is empty', make: async (_t, dir) => write(join(dir, 'empty'), '') },
  {
    kind: 'a file just over 16 KiB',
    problem: 'is 16.1 KiB; a token file is at most 16 KiB',
    make: async (_t, dir) => write(join(dir, 'big'), 'a'.repeat(16 * 1024 + 1)),
  },
  {
    kind: 'a 512 MiB file',
    problem: 'is 512 MiB; a token file is at most 16 KiB',
    // Sparse: it takes no disk space, but its size is what a reader would have to go through.
    make: async (_t, dir) => {
      const path = write(join(dir, 'huge'), '')
      truncateSync(path, 512 * 1024 * 1024)
      return path
    },
  },
  { kind: '/dev/zero', problem: 'is not a regular file (a character device)', make: async () => '/dev/zero' },
  { kind: 'a FIFO', problem: 'is not a regular file (a FIFO)', make: async (t, dir) => fifo(t, join(dir, 'fifo')) },
  {
    kind: 'a directory',
    problem: 'is not a regular file (a directory)',
    make: async (_t, dir) => {
      mkdirSync(join(dir, 'directory'))
      return join(dir, 'directory')
    },
  },
  {
    kind: 'a unix socket',
    problem: 'is not a regular file (a socket)',
    make: async (t, dir) => {
      const path = join(dir, 'socket')
      const server = createServer()
      await new Promise<void>((resolve) => server.listen(path, resolve))
      t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
      return path
    },
  },
]

/** The same kinds reached through a symlink: the link is followed, and what it points at is judged. */
export const NOT_TOKEN_FILES_BEHIND_LINKS: readonly FileKind[] = NOT_TOKEN_FILES.map((k) => ({
  kind: `a symlink to ${k.kind}`,
  problem: k.problem,
  make: async (t, dir) => {
    const link = join(dir, 'link')
    symlinkSync(await k.make(t, dir), link)
    return link
  },
}))

function write(path: string, text: string): string {
  writeFileSync(path, text, { mode: 0o600 })
  return path
}

/**
 * A real FIFO. When the test ends, whoever is still blocked reading it (code under test that
 * opened it without O_NONBLOCK) is given an end of file, so a failing test does not leave a stuck
 * thread behind.
 */
export function fifo(t: ExecutionContext, path: string): string {
  execFileSync('mkfifo', ['-m', '600', path])
  t.teardown(() => {
    try {
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK))
    } catch {
      // ENXIO: nobody is reading it, as it should be.
    }
  })
  return path
}
