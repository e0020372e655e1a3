import { createApp, type App } from '../app.js'
import type { Config } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { StoreError } from '../store/types.js'
import { exitWith, hostPort, listenLabel, probeProxy } from './context.js'
import { SocketPathError } from '../net/unix-socket.js'
import { leaveWithLauncher } from './launcher.js'
import { configWarnings } from './warnings.js'

/**
 * `c66-proxy serve`: runs until SIGTERM/SIGINT (or, when npm launched it, until npm's shell is
 * gone: see launcher.ts), then drains in-flight requests and exits 0.
 */
export async function serve(config: Config, env: NodeJS.ProcessEnv): Promise<void> {
  let app: App
  try {
    app = await createApp(config)
  } catch (err) {
    if (err instanceof StoreError || err instanceof ConfigError) exitWith(err.message)
    throw err
  }
  const { log } = app
  // Handlers first: whoever reads "listening" below may signal at once, and a SIGTERM with no
  // handler yet would kill the process instead of stopping it.
  let stopping = false
  const stop = (why: { signal: string } | { reason: 'launcher_exited' }) => {
    if (stopping) return
    stopping = true
    log.info({ ...why, grace_ms: config.shutdownGraceMs }, 'shutting down')
    void app.close().then(() => {
      process.exit(0)
    })
  }
  process.once('SIGTERM', () => stop({ signal: 'SIGTERM' })).once('SIGINT', () => stop({ signal: 'SIGINT' }))
  let address
  try {
    address = await app.listen()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    exitWith(`cannot listen on ${listenLabel(config.listen)} (${code})${await listenHint(config, code, err)}`)
  }
  const shown = address.family === 'unix' ? `unix:${address.address}` : hostPort(address.address, address.port)
  const report = await app.tokens.describe()
  if (config.unsafeListenAny)
    log.warn('--unsafe-listen-any: accepting clients that are not on this machine; anyone who reaches this port acts as you on Cloud 66')
  log.info(
    {
      listen: shown,
      upstream: `${config.upstream.origin}/api/3`,
      token_source: report.active?.source ?? 'none',
      token_fingerprint: report.active?.token.fingerprint,
      oauth_login: app.oauth !== undefined,
    },
    'c66-proxy listening',
  )
  for (const warning of await configWarnings(config, report)) log.warn(warning)
  const reach = address.family === 'unix' ? `${shown} (curl --unix-socket ${address.address} http://localhost/stacks.json)` : `http://${shown}`
  process.stderr.write(`c66-proxy listening on ${reach} → ${config.upstream.origin}/api/3\n`)
  leaveWithLauncher(env, () => stop({ reason: 'launcher_exited' }))
}

/** What to do about an address the proxy cannot listen on (the demo says the same). */
async function listenHint(config: Config, code: string, err: unknown): Promise<string> {
  if (err instanceof SocketPathError) return `: ${err.message}`
  const choose = '; choose another address with --listen HOST:PORT or C66_PROXY_LISTEN (e.g. --listen 127.0.0.1:8067)'
  if (code === 'EADDRINUSE') {
    const ours = await probeProxy(config.listen)
    return `${ours ? ': a c66-proxy is already answering there (see `c66-proxy status`)' : ': another program is using that port'}${choose}`
  }
  if (code === 'EACCES') return `: ports below 1024 need privileges${choose}`
  if (code === 'EADDRNOTAVAIL') return `: that address is not one of this machine's${choose}`
  return ''
}
