// The built CLI as an interactive session: a process whose standard input the test writes to
// (the --oob code, a token for `token set`) while it reads what the process prints. Also a
// scratch data directory and direct access to the store it holds, for setting up and checking.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { systemClock } from '../../src/clock.js'
import { openFileTokenStore } from '../../src/store/embedded.js'
import type { StoredToken } from '../../src/store/types.js'
import { LOCAL_CALLER } from '../../src/tokens/token-service.js'
import { CLI } from './cli.js'

export interface CliSession {
  readonly child: ChildProcessWithoutNullStreams
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves with the first match of `re` in stdout + stderr, printed already or still to come. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Spawns `dist/main.js <args>` with a writable stdin; killed when the test ends if still running. */
export function cliSession(t: ExecutionContext, args: readonly string[], env: NodeJS.ProcessEnv): CliSession {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const waiters = new Set<() => void>()
  const poke = () => [...waiters].forEach((w) => w())
  child.stdout.on('data', (c: Buffer) => ((out += c.toString()), poke()))
  child.stderr.on('data', (c: Buffer) => ((err += c.toString()), poke()))
  child.stdin.on('error', () => undefined) // the process may exit before reading what we wrote
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      resolve({ code, signal })
      poke()
    }),
  )
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const stop = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        const timer = setTimeout(() => (stop(), reject(new Error(`timed out waiting for ${re}; stdout=${out} stderr=${err}`))), timeoutMs)
        const check = () => {
          const m = re.exec(out + err)
          if (m) {
            stop()
            resolve(m)
          } else if (child.exitCode !== null || child.signalCode !== null) {
            stop()
            reject(new Error(`process exited before ${re}; stdout=${out} stderr=${err}`))
          }
        }
        waiters.add(check)
        check()
      })
    },
  }
}

/** An empty directory for --data-dir, removed when the test ends. */
export async function dataDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'c66-proxy-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Opens `<dir>/store.json` with the same key settings as the CLI (a generated key unless `env` names one). */
async function openStore(dir: string, env: Record<string, string | undefined>) {
  return openFileTokenStore({ path: join(dir, 'store.json'), env, allowGeneratedKey: true, clock: systemClock })
}

/** The token stored for the local caller, read directly from the store file. */
export async function readStoredToken(dir: string, env: Record<string, string | undefined> = {}): Promise<StoredToken | undefined> {
  const store = await openStore(dir, env)
  try {
    return await store.getToken(LOCAL_CALLER)
  } finally {
    await store.close()
  }
}

/** Stores `token` for the local caller, as a login would have. */
export async function seedToken(dir: string, token: StoredToken, env: Record<string, string | undefined> = {}): Promise<void> {
  const store = await openStore(dir, env)
  try {
    await store.putToken(LOCAL_CALLER, token)
  } finally {
    await store.close()
  }
}

/** The key ids the store file's records are sealed with (the file's plaintext part). */
export async function sealedKids(dir: string): Promise<string[]> {
  const doc = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')) as { records: Record<string, { kid: string }> }
  return Object.values(doc.records).map((r) => r.kid)
}
