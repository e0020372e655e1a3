#!/usr/bin/env node
// `npm run demo`: the Cloud 66 simulator and c66-proxy wired together in one process, with three
// curl lines that work exactly as printed. Nothing here touches a real Cloud 66 account: the proxy
// only ever holds the demo token, and only the simulator accepts it.
import { mkdtempSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp, type App } from './app.js'
import { loadConfig } from './config/load.js'
import type { Config } from './config/types.js'
import { ConfigError } from './errors.js'
import { ALL_SCOPES, startSimulator, type Simulator } from './simulator/index.js'
import { hostPort } from './cli/context.js'
import { createLogger } from './log.js'
import type { DestinationStream } from 'pino'

const DEMO_TOKEN = 'c66-demo-token'

/** The settings a user may change for the demo; everything else is fixed so it always works. */
const PASSED_THROUGH = ['C66_PROXY_LISTEN', 'C66_PROXY_LOG_LEVEL'] as const

const demoDataDir = mkdtempSync(join(tmpdir(), 'c66-proxy-demo-'))
process.once('exit', () => rmSync(demoDataDir, { recursive: true, force: true }))

async function main(): Promise<void> {
  const sim = await startSimulator({ tokens: { [DEMO_TOKEN]: ALL_SCOPES } })
  let config: Config
  try {
    config = loadConfig({
      // A throw-away store: a token the user stored for real Cloud 66 must never be sent to the demo.
      flags: { upstream: sim.url.origin, dataDir: demoDataDir },
      env: {
        ...Object.fromEntries(PASSED_THROUGH.map((name) => [name, process.env[name]])),
        // The demo's own token, never the user's: the environment's CLOUD66_* are not passed on.
        CLOUD66_ACCESS_TOKEN: DEMO_TOKEN,
        HOME: process.env['HOME'],
      },
    })
  } catch (err) {
    await sim.close()
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`${err.message}\n`)
    process.exit(2)
  }

  const app = await createApp(config, { log: createLogger(config.logLevel, peopleReadable()) })
  let address: AddressInfo
  try {
    address = await app.listen()
  } catch (err) {
    await sim.close()
    const code = (err as NodeJS.ErrnoException).code ?? 'error'
    process.stderr.write(
      `c66-proxy demo: cannot listen on ${hostPort(config.listen.host, config.listen.port)} (${code}); ` +
        'choose another address with C66_PROXY_LISTEN, e.g. C66_PROXY_LISTEN=127.0.0.1:0 npm run demo\n',
    )
    process.exit(1)
  }

  const base = `http://${hostPort(address.address, address.port)}`
  const stack = await firstStack(sim)
  const snapshot = await app.tokens.tokenFor()
  const lines = [
    'c66-proxy demo',
    `  Cloud 66 simulator  ${sim.url.origin}  (accepts only the demo token)`,
    `  c66-proxy           ${base}  →  ${sim.url.origin}/api/3, token from ${snapshot?.source ?? 'nowhere'} (${snapshot?.token.fingerprint ?? 'none'})`,
    '',
    'Try these; the proxy adds the token, curl sends none:',
    '',
    '  # list your stacks (any base URL works: /stacks or /api/3/stacks)',
    `  curl -sS ${base}/stacks`,
    `  # the servers of stack "${stack.name}", through the /api/3 form`,
    `  curl -sS ${base}/api/3/stacks/${stack.uid}/servers`,
    `  # redeploy it`,
    `  curl -sS -X POST ${base}/stacks/${stack.uid}/deployments`,
    '',
    `Status page: ${base}/-/   Metrics: ${base}/-/metrics`,
    'Press Ctrl-C to stop. Requests show up below as they pass through the proxy:',
    '',
  ]
  // Before the instructions: whoever reads them may press Ctrl-C at once.
  stopOnSignal(app, sim)
  process.stdout.write(`${lines.join('\n')}\n`)
}

/**
 * The proxy's log, for people watching a demo: one short line per request (method, route
 * template, status, time) instead of the JSON lines `serve` writes for log collectors, and
 * warnings as words. Everything else the proxy logs is for operators, and left out here.
 */
function peopleReadable(): DestinationStream {
  return {
    write(block: string) {
      let out = ''
      for (const text of block.split('\n')) {
        if (text === '') continue
        const line = JSON.parse(text) as { level: number; msg: string; method?: string; route?: string; status?: number; duration_ms?: number }
        if (line.msg === 'request') out += `  ${line.method ?? ''} ${line.route ?? ''} → ${line.status ?? ''} in ${line.duration_ms ?? '?'} ms\n`
        else if (line.level >= 40) out += `  (${line.level >= 50 ? 'error' : 'warning'}: ${line.msg})\n`
      }
      if (out !== '') process.stdout.write(out)
    },
  }
}

/** The first stack the simulator lists, asked for directly (not through the proxy, to keep its log clean). */
async function firstStack(sim: Simulator): Promise<{ uid: string; name: string }> {
  const res = await fetch(`${sim.url.origin}/api/3/stacks`, { headers: { authorization: `Bearer ${DEMO_TOKEN}` } })
  const body = (await res.json()) as { response: Array<{ uid: string; name: string }> }
  const stack = body.response[0]
  if (!stack) throw new Error('the simulator lists no stacks')
  return stack
}

function stopOnSignal(app: App, sim: Simulator): void {
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    void app
      .close()
      .then(() => sim.close())
      .then(() => {
        process.exit(0)
      })
  }
  process.once('SIGINT', stop).once('SIGTERM', stop)
}

await main()
