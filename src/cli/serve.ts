import { createApp, type App } from '../app.js'
import type { Config } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { StoreError } from '../store/types.js'
import { exitWith, hostPort } from './context.js'
import { configWarnings } from './warnings.js'

/** `c66-proxy serve`: runs until SIGTERM/SIGINT, then drains in-flight requests and exits 0. */
export async function serve(config: Config): Promise<void> {
  let app: App
  try {
    app = await createApp(config)
  } catch (err) {
    if (err instanceof StoreError || err instanceof ConfigError) exitWith(err.message)
    throw err
  }
  const { log } = app
  let address
  try {
    address = await app.listen()
  } catch (err) {
    exitWith(`cannot listen on ${hostPort(config.listen.host, config.listen.port)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const report = await app.tokens.describe()
  if (config.unsafeListenAny) log.warn('--unsafe-listen-any: accepting clients that are not on this machine; anyone who reaches this port acts as you on Cloud 66')
  log.info({
    listen: hostPort(address.address, address.port),
    upstream: `${config.upstream.origin}/api/3`,
    token_source: report.active?.source ?? 'none',
    token_fingerprint: report.active?.token.fingerprint,
    oauth_login: app.oauth !== undefined,
  }, 'c66-proxy listening')
  for (const warning of await configWarnings(config, report)) log.warn(warning)
  process.stderr.write(`c66-proxy listening on http://${hostPort(address.address, address.port)} → ${config.upstream.origin}/api/3\n`)

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal, grace_ms: config.shutdownGraceMs }, 'shutting down')
    void app.close().then(() => {
      process.exit(0)
    })
  }
  process.once('SIGTERM', () => stop('SIGTERM')).once('SIGINT', () => stop('SIGINT'))
}
