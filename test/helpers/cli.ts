import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ExecutionContext } from 'ava'

/** The built CLI (`npm test` builds first). Spawned tests exercise exactly what users run. */
export const CLI = fileURLToPath(new URL('../../dist/main.js', import.meta.url))

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** A clean environment: PATH only, plus what the test gives. Never the developer's real tokens. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent-c66-proxy-test-home', ...extra }
}

/**
 * Runs the built CLI to its end. With `timeoutMs` a command that hangs is killed (SIGKILL, seen in
 * `signal`), so a test of something that must not block fails instead of stalling.
 */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv(), input?: string, options: { timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: options.timeoutMs ?? 0, killSignal: 'SIGKILL' })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
    child.stdin.end(input ?? '')
  })
}

export interface RunningCli {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves with the first stdout+stderr line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/** Starts a long-running CLI command (serve, simulate); it is killed when the test ends. */
export function startCli(t: ExecutionContext, args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): RunningCli {
  return watchProcess(t, spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }))
}

/**
 * What a test needs of a process it started: its output so far, a wait for a line of it, its
 * exit. The process is killed when the test ends if it is still running.
 */
export function watchProcess<C extends ChildProcess>(t: ExecutionContext, child: C): RunningCli & { readonly child: C } {
  let out = ''
  let err = ''
  const waiters = new Set<() => void>()
  const poke = () => [...waiters].forEach((w) => w())
  child.stdout?.on('data', (c: Buffer) => ((out += c.toString()), poke()))
  child.stderr?.on('data', (c: Buffer) => ((err += c.toString()), poke()))
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
