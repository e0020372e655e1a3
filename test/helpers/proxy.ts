import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { ExecutionContext } from 'ava'
import { createApp, type App, type AppIO } from '../../src/app.js'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/types.js'
import { createLogger, type Logger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'
import { freePort } from './ports.js'

export interface StartedProxy {
  readonly app: App
  readonly config: Config
  /** http://127.0.0.1:<port> */
  readonly url: string
  readonly port: number
  /** Every JSON log line the proxy wrote, as text. */
  readonly logs: string[]
}

export interface ProxyOptions {
  /** Origin of the upstream, usually the simulator's `url`. */
  readonly upstream: URL | string
  /** Settings by config key (listen defaults to 127.0.0.1:0, logLevel to debug). */
  readonly flags?: Record<string, unknown>
  /** Environment the config sees: CLOUD66_* tokens, HOME (defaults to a directory with no cx files). */
  readonly env?: Record<string, string | undefined>
  /** Parts to inject (a clock, a store). */
  readonly io?: Partial<AppIO>
}

/** Starts the real proxy in-process on 127.0.0.1:0 and stops it when the test ends. */
export async function startProxy(t: ExecutionContext, options: ProxyOptions): Promise<StartedProxy> {
  // Each proxy gets its own empty store directory, removed when the test ends.
  const dataDir = await mkdtemp(join(tmpdir(), 'c66-proxy-test-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  const config = loadConfig({
    flags: { listen: '127.0.0.1:0', logLevel: 'debug', upstream: String(options.upstream).replace(/\/$/, ''), dataDir, ...options.flags },
    env: { HOME: '/nonexistent-c66-proxy-test-home', ...options.env },
  })
  const { log, logs } = memoryLog(config.logLevel)
  const app = await createApp(config, { log, metrics: createMetrics(), ...options.io })
  const address = await app.listen()
  t.teardown(() => app.close())
  return { app, config, url: `http://127.0.0.1:${address.port}`, port: address.port, logs }
}

/** The product's own logger (with its redaction), writing its lines to memory instead of stdout. */
export function memoryLog(level: Config['logLevel']): { log: Logger; logs: string[] } {
  const logs: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    },
  })
  return { log: createLogger(level, sink), logs }
}

/**
 * Starts the real app in-process on a port chosen beforehand, so that its config (a public URL)
 * can name the port. Another test may take the port between choosing and binding it: then a new
 * one is chosen. Stopped when the test ends.
 */
export async function startOnChosenPort(
  t: ExecutionContext,
  configFor: (port: number) => Config,
  io: Partial<AppIO> = {},
): Promise<{ app: App; config: Config; port: number; logs: string[] }> {
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort()
    const config = configFor(port)
    const { log, logs } = memoryLog(config.logLevel)
    const app = await createApp(config, { log, metrics: createMetrics(), ...io })
    try {
      await app.listen()
    } catch (err) {
      await app.close()
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 5) continue
      throw err
    }
    t.teardown(() => app.close())
    return { app, config, port, logs }
  }
}
