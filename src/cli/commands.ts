import { Command } from 'commander'
import { createApp } from '../app.js'
import { loadConfig } from '../config/load.js'
import type { Config } from '../config/types.js'
import { ConfigError } from '../errors.js'
import { LocalTokenSources, type Resolution } from '../tokens/local-sources.js'
import { startSimulator } from '../simulator/index.js'
import { configOrExit } from './load.js'
import { addSettingOptions, settingFlags, settingsHelp } from './options.js'

const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`)

/** The `c66-proxy` command line. `env` is passed in so tests and the demo can run it in-process. */
export function buildProgram(env: NodeJS.ProcessEnv): Command {
  const program = new Command('c66-proxy')
    .description('Authenticating reverse proxy for the Cloud 66 API')
    .showHelpAfterError()
    // The flags live on the commands; the top-level help lists them too, each beside its variable.
    .addHelpText('after', settingsHelp())

  addSettingOptions(program.command('serve', { isDefault: true }).description('run the proxy (the default command)'))
    .action(async (opts: Record<string, unknown>) => serve(configOrExit(opts, env)))

  addSettingOptions(program.command('check-config').description('print every configuration problem; exit 1 if there is any'))
    .action(async (opts: Record<string, unknown>) => {
      try {
        const config = loadConfig({ flags: settingFlags(opts), env })
        const resolution = await new LocalTokenSources(config).resolve()
        process.stdout.write(`configuration OK: listen ${hostPort(config.listen.host, config.listen.port)}, upstream ${config.upstream.origin}/api/3\n`)
        for (const warning of tokenWarnings(resolution)) process.stdout.write(`warning: ${warning}\n`)
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err
        process.stderr.write(`${err.message}\n`)
        process.exitCode = 1
      }
    })

  addSettingOptions(program.command('status').description('show the token source in use (fingerprint only), the upstream and the listen address'))
    .option('--json', 'machine-readable output')
    .action(async (opts: Record<string, unknown>) => status(configOrExit(opts, env), opts['json'] === true))

  addSettingOptions(program.command('healthcheck').description("exit 0 when the proxy at the listen address answers /-/healthz (the container's HEALTHCHECK)"))
    .action(async (opts: Record<string, unknown>) => {
      const config = configOrExit(opts, env)
      // A wildcard listen address is reached through loopback, with a Host the guards accept.
      const host = ['0.0.0.0', '::'].includes(config.listen.host) ? 'localhost' : config.listen.host
      process.exitCode = (await probe(`http://${hostPort(host, config.listen.port)}/-/healthz`)) ? 0 : 1
    })

  program
    .command('simulate')
    .description('run the Cloud 66 API simulator (for demos, tests and benchmarks)')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8067')
    .option('--token <token>', 'a token the simulator accepts, with every scope (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--budget <n>', 'requests per token per hour before 503 throttled', '3000')
    .action(async (opts: { listen: string; token: string[]; budget: string }) => {
      const m = /^(.*):(\d+)$/.exec(opts.listen)
      if (!m) throw new Error('--listen must be HOST:PORT')
      const all = ['public', 'redeploy', 'jobs', 'users', 'admin', 'reboot']
      const sim = await startSimulator({
        host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''),
        port: Number(m[2]),
        budgetPerToken: Number(opts.budget),
        ...(opts.token.length > 0 ? { tokens: Object.fromEntries(opts.token.map((t) => [t, all])) } : {}),
      })
      process.stdout.write(`Cloud 66 simulator listening on ${sim.url.origin}\n`)
      const stop = () => void sim.close().then(() => process.exit(0))
      process.once('SIGINT', stop).once('SIGTERM', stop)
    })
  return program
}

function tokenWarnings(resolution: Resolution): string[] {
  const warnings = resolution.report.filter((r) => r.state === 'invalid').map((r) => `token source ${r.source} (${r.location}) ${r.problem ?? 'is invalid'}`)
  if (!resolution.snapshot) warnings.push('no Cloud 66 token found; the proxy starts, but API requests get 401 until one is provided')
  return warnings
}

async function serve(config: Config): Promise<void> {
  const app = createApp(config)
  const { log } = app
  let address
  try {
    address = await app.listen()
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    process.stderr.write(`c66-proxy: cannot listen on ${hostPort(config.listen.host, config.listen.port)} (${code ?? 'error'})\n`)
    process.exit(1)
  }
  const resolution = await app.tokens.describe()
  if (config.unsafeListenAny) log.warn('--unsafe-listen-any: accepting clients that are not on this machine; anyone who reaches this port acts as you on Cloud 66')
  log.info({
    listen: hostPort(address.address, address.port),
    upstream: `${config.upstream.origin}/api/3`,
    token_source: resolution.snapshot?.source ?? 'none',
    token_fingerprint: resolution.snapshot?.token.fingerprint,
  }, 'c66-proxy listening')
  for (const warning of tokenWarnings(resolution)) log.warn(warning)
  process.stderr.write(`c66-proxy listening on http://${hostPort(address.address, address.port)} → ${config.upstream.origin}/api/3\n`)

  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    log.info({ signal, grace_ms: config.shutdownGraceMs }, 'shutting down')
    void app.close().then(() => {
      log.flush()
      process.exit(0)
    })
  }
  process.once('SIGTERM', () => stop('SIGTERM')).once('SIGINT', () => stop('SIGINT'))
}

async function status(config: Config, json: boolean): Promise<void> {
  const resolution = await new LocalTokenSources(config).resolve()
  const listen = hostPort(config.listen.host, config.listen.port)
  const running = await probe(`http://${listen}/-/healthz`)
  const snap = resolution.snapshot
  const report = {
    mode: config.mode,
    listen,
    running,
    upstream: `${config.upstream.origin}/api/3`,
    token: snap ? { source: snap.source, location: snap.location, fingerprint: snap.token.fingerprint } : null,
    sources: resolution.report,
  }
  if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  else {
    const lines = [
      `mode:      ${report.mode}`,
      `listen:    ${listen} (${running ? 'a proxy is answering there' : 'nothing answering there'})`,
      `upstream:  ${report.upstream}`,
      `token:     ${snap ? `${snap.source} (${snap.location}), fingerprint ${snap.token.fingerprint}` : 'none — API requests will get 401'}`,
      'sources, in order:',
      ...resolution.report.map((r) => `  ${r.source.padEnd(22)} ${r.state}${r.problem ? `: ${r.problem}` : ''}  ${r.location}`),
    ]
    process.stdout.write(`${lines.join('\n')}\n`)
  }
  if (!snap) process.exitCode = 1
}

async function probe(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) })
    return res.ok
  } catch {
    return false
  }
}
