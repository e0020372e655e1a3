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
import { CLI, watchProcess, type RunningCli } from './cli.js'

export type CliSession = RunningCli & { readonly child: ChildProcessWithoutNullStreams }

/** Spawns `dist/main.js <args>` with a writable stdin; killed when the test ends if still running. */
export function cliSession(t: ExecutionContext, args: readonly string[], env: NodeJS.ProcessEnv): CliSession {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin.on('error', () => undefined) // the process may exit before reading what we wrote
  return watchProcess(t, child)
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
