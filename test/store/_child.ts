import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ExecutionContext } from 'ava'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface FixtureChild {
  readonly child: ChildProcessWithoutNullStreams
  /** Every complete stdout line so far. */
  lines(): readonly string[]
  /** Resolves with the first stdout line matching `re` (already seen or still to come). */
  waitForLine(re: RegExp, safetyMs?: number): Promise<string>
  /** Settles once the process has exited and its output is fully read. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  send(line: string): void
}

/**
 * Runs `test/store/fixtures/<name>.ts` in its own Node process (through tsx), so that locks and
 * crashes are real. The process is killed when the test ends, whatever happened.
 */
export function spawnFixture(t: ExecutionContext, name: string, args: readonly string[], env: Record<string, string> = {}): FixtureChild {
  const script = fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url))
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let partial = ''
  let stderr = ''
  const waiters = new Set<() => void>()
  const poke = () => waiters.forEach((w) => w())
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
    poke()
  })
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  let done = false
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      done = true
      resolve({ code, signal })
      poke()
    }),
  )
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    return closed.then(() => undefined)
  })
  return {
    child,
    closed,
    lines: () => lines,
    send: (line) => child.stdin.write(`${line}\n`),
    waitForLine(re, safetyMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`gave up waiting for ${re} from ${name}; stderr: ${stderr}`)), safetyMs)
        const finish = (err: Error | undefined, line?: string) => {
          clearTimeout(timer)
          waiters.delete(check)
          if (err) reject(err)
          else resolve(line ?? '')
        }
        const check = () => {
          const line = lines.find((l) => re.test(l))
          if (line !== undefined) finish(undefined, line)
          else if (done) finish(new Error(`${name} exited before printing ${re}; stderr: ${stderr}`))
        }
        waiters.add(check)
        check()
      })
    },
  }
}
