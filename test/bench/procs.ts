// Process bookkeeping for the benchmark: every child is tracked and killed on the way out,
// whatever the way out is (normal end, error, Ctrl-C, SIGTERM); every command has a deadline.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import net from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'

const live = new Set<ChildProcess>()
const commandLog: string[] = []

/** Shell-style rendering of a command line, for the report's command log. */
export function renderCommand(cmd: string, args: readonly string[]): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)
  return [cmd, ...args].map(q).join(' ')
}

export function loggedCommands(): readonly string[] {
  return commandLog
}

/** Adds a line to the command log by hand (a command run in a loop, logged once with a note). */
export function logCommand(line: string): void {
  commandLog.push(line)
}

/** Spawns a long-running child and tracks it until it exits; `logged: false` leaves it out of the command log. */
export function spawnTracked(cmd: string, args: readonly string[], options: SpawnOptions = {}, logged = true): ChildProcess {
  if (logged) commandLog.push(renderCommand(cmd, args))
  const child = spawn(cmd, args, { stdio: 'ignore', ...options })
  live.add(child)
  child.once('exit', () => live.delete(child))
  child.once('error', () => live.delete(child))
  return child
}

export interface CommandResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly timedOut: boolean
  readonly ms: number
}

/**
 * Runs a command to completion, killing it (SIGKILL) after `timeoutMs`. `onLine` sees each
 * stdout line as it arrives (W5 uses it to sample the target at the right moments). A command
 * run many times in a loop is logged once by its caller (`logged: false`).
 */
export function runCommand(
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs: number; env?: NodeJS.ProcessEnv; cwd?: string; onLine?: (line: string) => void; logged?: boolean },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const started = performance.now()
    const child = spawnTracked(
      cmd,
      args,
      { stdio: ['ignore', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}), ...(opts.cwd ? { cwd: opts.cwd } : {}) },
      opts.logged ?? true,
    )
    let stdout = ''
    let stderr = ''
    let pending = ''
    let timedOut = false
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
      if (!opts.onLine) return
      pending += d
      let nl
      while ((nl = pending.indexOf('\n')) !== -1) {
        opts.onLine(pending.slice(0, nl))
        pending = pending.slice(nl + 1)
      }
    })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 64_000) stderr += d
    })
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, opts.timeoutMs)
    child.once('error', (err) => {
      clearTimeout(timer)
      resolve({ code: null, signal: null, stdout, stderr: stderr + String(err), timedOut, ms: performance.now() - started })
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, timedOut, ms: performance.now() - started })
    })
  })
}

/** Stops a child: `signal`, then SIGKILL if it is still there after `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill(signal)
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await exited
  clearTimeout(timer)
}

/** Last resort, synchronous: used from 'exit' and signal handlers. */
export function killAllNow(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
  live.clear()
}

let installed = false
/** Makes sure no child outlives the harness: Ctrl-C, SIGTERM, SIGHUP, crashes and normal exit. */
export function installCleanup(onSignal: (signal: string) => void): void {
  if (installed) return
  installed = true
  process.once('exit', killAllNow)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      onSignal(signal)
      killAllNow()
      process.exit(130)
    })
  }
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Waits until something accepts TCP connections on the port; fails early if `child` exits. */
export async function waitForPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`exited (code ${child.exitCode ?? child.signalCode}) before listening on ${port}`)
    }
    if (await canConnect(port)) return
    await sleep(50)
  }
  throw new Error(`nothing listening on 127.0.0.1:${port} after ${timeoutMs} ms`)
}

/** Runs `node <cli> <args>` (the built c66-proxy) with `input` on stdin; resolves with stdout, rejects on a non-zero exit. */
export function runProductCli(cliPath: string, args: readonly string[], env: NodeJS.ProcessEnv, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()))
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(' ')}: ${code} ${err}`))))
    child.stdin?.end(input ?? '')
  })
}
