// The built proxy as one process for the workloads that need their own settings (WAN, dashboard):
// pinned to the target core, launched as `npm start` launches it, and able to say why it did not
// start, which tells a flag this build does not know from any other failure.
import type { ChildProcess } from 'node:child_process'
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
export async function startProduct(args: readonly string[], env: Record<string, string>): Promise<ProductStart> {
  const port = await freePort()
  const launch = productLaunch()
  const child: ChildProcess = spawnTracked('taskset', ['-c', TARGET_CORE, process.execPath, ...launch.flags, path.join(REPO_ROOT, 'dist/main.js'), 'serve', '--listen', `127.0.0.1:${port}`, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...launch.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 64_000) stderr += d
  })
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
  try {
    await waitForPort(port, 15_000, child)
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
      metrics: async () => (await fetch(`http://127.0.0.1:${port}/-/metrics`, { signal: AbortSignal.timeout(5_000) })).text(),
      stop: () => stopChild(child, 'SIGINT', 12_000),
    },
  }
}

/** The value of a sample of a Prometheus text (0 when absent, as Prometheus reads a counter). */
export function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `))
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1))
}
