import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { ExecutionContext } from 'ava'
import { createApp, type App, type AppIO } from '../../src/app.js'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/types.js'
import { createLogger } from '../../src/log.js'
import { createMetrics } from '../../src/metrics.js'

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
  const logs: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    },
  })
  // The product's own logger (with its redaction), writing to memory instead of stdout.
  const log = createLogger(config.logLevel, sink)
  const app = await createApp(config, { log, metrics: createMetrics(), ...options.io })
  const address = await app.listen()
  t.teardown(() => app.close())
  return { app, config, url: `http://127.0.0.1:${address.port}`, port: address.port, logs }
}
