// A fake Cloud 66 API v3 (plus room for the OAuth endpoints) on a real node:http server.
// Tests, the demo and the benchmark point the proxy at it as the upstream.
import type { EventEmitter } from 'node:events'
import type { IncomingHttpHeaders, Server } from 'node:http'
import { registerApiRoutes } from './api-routes.js'
import { Router } from './router.js'
import { createSimulatorServer } from './server.js'
import { createState } from './state.js'
import { registerStreamRoutes } from './stream-routes.js'

export interface SimulatorOptions {
  /** Default '127.0.0.1'. */
  host?: string
  /** Default 0 (ephemeral). */
  port?: number
  /** token -> scopes. Default: { 'sim-token': ['public','redeploy','jobs','users','admin','reboot'] } */
  tokens?: Record<string, readonly string[]>
  /** Requests allowed per token per window before `503 throttled`. Default 3000. */
  budgetPerToken?: number
  /** Window for the budget in ms. Default 3_600_000. */
  budgetWindowMs?: number
  /** Origin of the off-host (S3-like) redirect and backup public_url. Default 'https://c66-sim-bucket.s3.amazonaws.com' */
  s3Origin?: string
  /**
   * Most records kept in `requests`; the oldest are dropped beyond it so a long benchmark does
   * not grow without bound. `events` still sees every request. Default 50_000; 0 keeps none.
   */
  maxRecords?: number
}

export interface SimulatorRequestRecord {
  method: string
  /** req.url exactly as received (raw path + query, no decoding). */
  url: string
  headers: IncomingHttpHeaders
  rawHeaders: string[]
  /** The first 1 MiB of the request body. */
  body: Buffer
  /** Total body size. */
  bodyBytes: number
  /** The bearer token that was presented (header or access_token/bearer_token param), if any. */
  token: string | undefined
}

export interface Simulator {
  /** Origin only, e.g. http://127.0.0.1:41234 */
  readonly url: URL
  readonly server: Server
  /** Every request in arrival order, pushed when its body has ended or the request was aborted. */
  readonly requests: SimulatorRequestRecord[]
  /** Emits 'request' (record) when a request is recorded. */
  readonly events: EventEmitter
  setToken(token: string, scopes: readonly string[]): void
  revokeToken(token: string): void
  /** Closes the server and all its connections, hanging ones included. */
  close(): Promise<void>
}

export { ALL_SCOPES } from './auth.js'
export { DEFAULT_TOKEN } from './state.js'

/** Starts a simulator listening on `host:port`; resolves once it accepts connections. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const state = createState(options)
  const router = new Router()
  // Each route module registers into the one table; new ones (OAuth) are added the same way.
  registerApiRoutes(router)
  registerStreamRoutes(router)
  const server = createSimulatorServer(state, router)

  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('simulator: no TCP address')
  const url = new URL(`http://${host.includes(':') ? `[${host}]` : host}:${address.port}`)
  state.origin = url.origin

  let closing: Promise<void> | undefined
  return {
    url,
    server,
    requests: state.records,
    events: state.events,
    setToken: (token, scopes) => state.tokens.set(token, scopes),
    revokeToken: (token) => state.tokens.revoke(token),
    close() {
      closing ??= new Promise<void>((resolve) => {
        // close() waits for open sockets; closeAllConnections ends the hanging and keep-alive ones.
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}
