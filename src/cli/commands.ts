import { Command } from 'commander'
import { parseDuration } from '../config/duration.js'
import { probeProxy } from './context.js'
import { configOrExit } from './load.js'
import { login, logoutCommand } from './login-commands.js'
import { addSettingOptions, settingsHelp } from './options.js'
import { registerAuditCommand } from './audit-command.js'
import { registerGatewayCommands } from './gateway-commands.js'
import { secretGenerate, secretRotate } from './secret-commands.js'
import { serve } from './serve.js'
import { status } from './status.js'
import { checkConfig } from './check-config.js'
import { tokenImportCx, tokenSet, tokenShow } from './token-commands.js'

/** The `c66-proxy` command line. `env` is passed in so tests and the demo can run it in-process. */
export function buildProgram(env: NodeJS.ProcessEnv): Command {
  const program = new Command('c66-proxy')
    .description('Authenticating reverse proxy for the Cloud 66 API')
    .showHelpAfterError()
    // The flags live on the commands; the top-level help lists them too, each beside its variable.
    .addHelpText('after', settingsHelp())

  addSettingOptions(program.command('serve', { isDefault: true }).description('run the proxy (the default command)')).action(
    async (opts: Record<string, unknown>) => serve(configOrExit(opts, env), env),
  )

  addSettingOptions(program.command('check-config').description('print every configuration problem; exit 1 if there is any'))
    .option('--json', 'machine-readable output')
    .action(async (opts: Record<string, unknown>) => checkConfig(opts, env, opts['json'] === true))

  addSettingOptions(program.command('status').description('show the token source in use (fingerprint only), the upstream and the listen address'))
    .option('--json', 'machine-readable output')
    .action(async (opts: Record<string, unknown>) => status(configOrExit(opts, env), opts['json'] === true))

  addSettingOptions(
    program.command('healthcheck').description("exit 0 when the proxy at the listen address answers /-/healthz (the container's HEALTHCHECK)"),
  ).action(async (opts: Record<string, unknown>) => {
    const config = configOrExit(opts, env)
    process.exitCode = (await probeProxy(config.listen)) ? 0 : 1
  })

  addSettingOptions(program.command('login').description('log in to Cloud 66 (OAuth authorization code + PKCE) and store the token'))
    .option('--no-browser', 'print the URL instead of opening a browser')
    .option('--oob', 'paste-the-code flow (urn:ietf:wg:oauth:2.0:oob) for machines without a browser')
    .option('--login-port <port>', 'loopback port for the redirect (default: the --listen port, so the same redirect URI works)')
    .option('--login-timeout <duration>', 'give up waiting for the browser after this long', '5m')
    .action(async (opts: Record<string, unknown>) => {
      const config = configOrExit(opts, env)
      const port = opts['loginPort'] === undefined ? undefined : Number(opts['loginPort'])
      if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new Error('--login-port must be a port number')
      await login(config, {
        browser: opts['browser'] !== false,
        oob: opts['oob'] === true,
        loginPort: port,
        timeoutMs: parseDuration(String(opts['loginTimeout'])) ?? 300_000,
      })
    })

  addSettingOptions(program.command('logout').description('revoke the stored token at Cloud 66 and delete it')).action(async (opts: Record<string, unknown>) =>
    logoutCommand(configOrExit(opts, env)),
  )

  const token = program.command('token').description('manage the stored token')
  addSettingOptions(token.command('set').description('store a personal access token read from standard input (never from argv)')).action(
    async (opts: Record<string, unknown>) => tokenSet(configOrExit(opts, env), process.stdin),
  )
  addSettingOptions(token.command('import-cx').description("copy the cx toolbelt's token (~/.cloud66/cx.json or --cx-profile) into the store")).action(
    async (opts: Record<string, unknown>) => tokenImportCx(configOrExit(opts, env)),
  )
  addSettingOptions(token.command('show').description('source, scopes, obtained and expiry times, fingerprint; never the token'))
    .option('--json', 'machine-readable output')
    .action(async (opts: Record<string, unknown>) => tokenShow(configOrExit(opts, env), opts['json'] === true))

  const secret = program.command('secret').description('the key that seals the token store')
  secret
    .command('generate')
    .description('print a new random secret for C66_PROXY_SECRET')
    .action(() => secretGenerate())
  addSettingOptions(secret.command('rotate').description('re-seal every stored record with a new (or the current) key')).action(
    async (opts: Record<string, unknown>) => secretRotate(configOrExit(opts, env)),
  )

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
      // Loaded on demand: `serve` must not carry the simulator in memory.
      const { startSimulator } = await import('../simulator/index.js')
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
  registerAuditCommand(program, env)
  registerGatewayCommands(program, env)
  return program
}
