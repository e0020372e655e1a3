// The built proxy as one process for the workloads that need their own settings (WAN, dashboard):
// pinned to the target core, launched as `npm start` launches it, and able to say why it did not
// start, which tells a flag this build does not know from any other failure.
import type { ChildProcess } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { freePort, spawnTracked, stopChild, waitForPort } from './procs.js'
import { productLaunch, REPO_ROOT, TARGET_CORE } from './targets.js'

export interface ProductProcess {
  readonly port: number
  readonly pid: number
  /** The proxy's /-/metrics text. */
  metrics(): Promise<string>
  stop(): Promise<void>
}

export type ProductStart =
  | { readonly ok: true; readonly proxy: ProductProcess }
  /** `missingFlag`: the proxy refused one of `args` as an unknown option (a build without that feature). */
  | { readonly ok: false; readonly missingFlag: string | undefined; readonly stderr: string }

/**
 * `node dist/main.js serve --listen 127.0.0.1:<port> <args>`, with `env` on top of a clean
 * environment (PATH, the launch settings). Standard output (the request log) is dropped.
 */
export async function startProduct(args: readonly string[], env: Record<string, string>, socket?: string): Promise<ProductStart> {
  const port = await freePort()
  const launch = productLaunch()
  const listen = socket === undefined ? `127.0.0.1:${port}` : `unix:${socket}`
  const child: ChildProcess = spawnTracked(
    'taskset',
    ['-c', TARGET_CORE, process.execPath, ...launch.flags, path.join(REPO_ROOT, 'dist/main.js'), 'serve', '--listen', listen, ...args],
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...launch.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 64_000) stderr += d
  })
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
  try {
    if (socket === undefined) await waitForPort(port, 15_000, child)
    else await waitForSocket(socket, 15_000, child)
  } catch {
    await stopChild(child, 'SIGKILL')
    await closed
    const unknown = /unknown option '([^']+)'/.exec(stderr)?.[1]
    return { ok: false, missingFlag: unknown !== undefined && args.includes(unknown) ? unknown : undefined, stderr: stderr.trim() }
  }
  return {
    ok: true,
    proxy: {
      port,
      pid: child.pid ?? 0,
      metrics: () =>
        socket === undefined
          ? fetch(`http://127.0.0.1:${port}/-/metrics`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.text())
          : getOverSocket(socket, '/-/metrics'),
      stop: () => stopChild(child, 'SIGINT', 12_000),
    },
  }
}

/** The value of a sample of a Prometheus text (0 when absent, as Prometheus reads a counter). */
export function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}

/** Resolves once something accepts connections on the unix socket `path`. */
async function waitForSocket(path: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error('exited')
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(path)
      s.once('connect', () => (s.destroy(), resolve(true)))
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`nothing listening on ${path}`)
}

function getOverSocket(socketPath: string, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ socketPath, path: target, headers: { host: 'localhost' }, timeout: 5_000 }, (res) => {
        let text = ''
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (text += c))
          .on('end', () => resolve(text))
      })
      .on('error', reject)
  })
}
