// The team gateway (issue 4) in-process: mode gateway, its own TLS (SELF_SIGNED) on a port chosen
// beforehand so the public URL `https://127.0.0.1:<port>` is known at start, the simulator's OAuth
// client, a fresh C66_PROXY_SECRET, a temp data directory holding the file store and the audit log,
// and every log line captured. HTTPS requests trust exactly SELF_SIGNED.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import type { App, AppIO } from '../../src/app.js'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/types.js'
import type { TokenStore } from '../../src/store/types.js'
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.js'
import { cleanEnv } from './cli.js'
import { SELF_SIGNED, within } from './forwarding.js'
import { answerConsent } from './oauth-login.js'
import { CLIENT_ID, CLIENT_SECRET, startSim } from './oauth-sim.js'
import { startOnChosenPort } from './proxy.js'

/**
 * The simulator for a gateway: its default client takes loopback `http://` redirect URIs only, so
 * `sim-client` is registered with the gateway's `https://127.0.0.1/-/callback` (loopback IP
 * literals match on any port, RFC 8252 §7.3). Closed when the test ends.
 */
export function startGatewaySim(t: ExecutionContext, options: SimulatorOptions = {}): Promise<Simulator> {
  return startSim(t, {
    oauthClients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: ['https://127.0.0.1/-/callback'] }],
    ...options,
  })
}

export interface GatewayOptions {
  /** Origin of the upstream, usually the simulator's `url`. */
  readonly upstream: URL | string
  /** Settings by config key, on top of the gateway's (mode, TLS, public URL, client id, data dir). */
  readonly flags?: Record<string, unknown>
  /** Extra environment; `undefined` values remove a default (e.g. `C66_PROXY_SECRET`). */
  readonly env?: Record<string, string | undefined>
  readonly io?: Partial<AppIO>
  /** A data directory to share (with the CLI, or a second gateway); default a fresh temp dir. */
  readonly dataDir?: string
  /** C66_PROXY_SECRET (hex or base64); default 32 fresh random bytes. A second gateway on the same data dir needs the first one's. */
  readonly secret?: string
}

export interface StartedGateway {
  readonly app: App
  readonly config: Config
  /** https://127.0.0.1:<port>, also the public URL. */
  readonly url: string
  readonly port: number
  /** Every JSON log line the gateway wrote, as text. */
  readonly logs: string[]
  readonly dataDir: string
  /** The audit log file (`<dataDir>/audit.log` unless flags say otherwise). */
  readonly auditLog: string
  /** This gateway's C66_PROXY_SECRET (hex): a canary that must never be shown anywhere. */
  readonly secret: string
  /** The store as the gateway sees it (members, keys, sessions, tokens). */
  readonly store: TokenStore
  /** Environment for the built CLI to work on this gateway's store (`--data-dir` in `cliArgs`). */
  cliEnv(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv
  /** `--data-dir DIR` for CLI commands on the same store. */
  readonly cliArgs: readonly string[]
}

async function tempDir(t: ExecutionContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** SELF_SIGNED written to files for --tls-cert / --tls-key (and curl's --cacert). */
export async function tlsFiles(t: ExecutionContext): Promise<{ cert: string; key: string }> {
  const dir = await tempDir(t, 'c66-gw-tls-')
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  await writeFile(cert, SELF_SIGNED.cert)
  await writeFile(key, SELF_SIGNED.key, { mode: 0o600 })
  return { cert, key }
}

/** The environment a gateway needs besides flags: the OAuth client secret and a fresh store secret. */
export function gatewayEnv(secret: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { HOME: '/nonexistent-c66-proxy-test-home', C66_CLIENT_SECRET: CLIENT_SECRET, C66_PROXY_SECRET: secret, ...extra }
}

/** Starts the real gateway in-process over HTTPS on 127.0.0.1 and stops it when the test ends. */
export async function startGateway(t: ExecutionContext, options: GatewayOptions): Promise<StartedGateway> {
  const dataDir = options.dataDir ?? (await tempDir(t, 'c66-gw-data-'))
  const tls = await tlsFiles(t)
  const secret = options.secret ?? randomBytes(32).toString('hex')
  const env = gatewayEnv(secret, options.env)
  const { app, config, port, logs } = await startOnChosenPort(
    t,
    (port) =>
      loadConfig({
        flags: {
          mode: 'gateway',
          logLevel: 'debug',
          upstream: String(options.upstream).replace(/\/$/, ''),
          clientId: CLIENT_ID,
          tlsCert: tls.cert,
          tlsKey: tls.key,
          dataDir,
          replicaId: 'gw-test',
          ...options.flags,
          listen: `127.0.0.1:${port}`,
          publicUrl: `https://127.0.0.1:${port}`,
        },
        env,
      }),
    options.io,
  )
  return {
    app,
    config,
    url: `https://127.0.0.1:${port}`,
    port,
    logs,
    dataDir,
    secret,
    cliArgs: ['--data-dir', dataDir],
    auditLog: config.gateway.auditLog,
    store: app.store,
    cliEnv: (extra = {}) => cleanEnv({ C66_PROXY_SECRET: secret, ...extra }),
  }
}

// ── HTTPS requests ───────────────────────────────────────────────────────────────────────────

export interface GwReply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The body parsed as JSON (throws when it is not JSON). */
  json<T = Record<string, unknown>>(): T
  /** `name=value` of the Set-Cookie line for `name`, or undefined. */
  cookie(name: string): string | undefined
}

export interface GwRequestOptions {
  readonly method?: string
  readonly headers?: OutgoingHttpHeaders
  readonly body?: string | Buffer
  /** `Authorization: Bearer <key>`. */
  readonly bearer?: string
  /** HTTP Basic `user:password`. */
  readonly basic?: readonly [string, string]
  /** A Cookie header (e.g. the session cookie pair). */
  readonly cookie?: string
  /** A JSON body, sent with Content-Type: application/json. */
  readonly json?: unknown
}

/**
 * One HTTPS request to the gateway with node:https (the request target is sent exactly as given,
 * no normalisation), trusting SELF_SIGNED only; a fresh connection per request.
 */
export function gwRequest(gw: { port: number }, target: string, options: GwRequestOptions = {}): Promise<GwReply> {
  const headers: OutgoingHttpHeaders = { ...options.headers }
  if (options.bearer !== undefined) headers['authorization'] = `Bearer ${options.bearer}`
  if (options.basic !== undefined) headers['authorization'] = `Basic ${Buffer.from(options.basic.join(':')).toString('base64')}`
  if (options.cookie !== undefined) headers['cookie'] = options.cookie
  let body = options.body === undefined ? undefined : Buffer.from(options.body)
  if (options.json !== undefined) {
    body = Buffer.from(JSON.stringify(options.json))
    headers['content-type'] ??= 'application/json'
  }
  if (body !== undefined) headers['content-length'] = body.length
  const method = options.method ?? (options.json !== undefined ? 'POST' : 'GET')
  return within(
    new Promise<GwReply>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: gw.port,
          path: target,
          method,
          headers,
          ca: SELF_SIGNED.cert,
          agent: false,
          // Node takes the certificate name to check from a Host header the test sets (a front's
          // view, or a hostile one); the chain is still verified against SELF_SIGNED.
          ...(headers['host'] === undefined ? {} : { checkServerIdentity: () => undefined }),
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.once('error', reject)
          res.once('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            const setCookie = res.headers['set-cookie'] ?? []
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: text,
              json: <T>() => JSON.parse(text) as T,
              cookie: (name) => setCookie.find((l) => l.startsWith(`${name}=`))?.split(';', 1)[0],
            })
          })
        },
      )
      req.once('error', reject)
      req.end(body)
    }),
    `${method} ${target}`,
  )
}

// ── members and keys ─────────────────────────────────────────────────────────────────────────

export interface LoggedIn {
  /** `c66p_session=…`, ready for a Cookie header. */
  readonly cookie: string
  /** The full Set-Cookie line of the session cookie. */
  readonly setCookie: string
  /** The answer of /-/callback (a 303 to /-/ on success). */
  readonly callback: GwReply
}

/**
 * Logs a simulator user in through the gateway as a browser would, over HTTPS: /-/login → the
 * simulator's consent page with `user_id` chosen → Authorize → /-/callback with the login cookie.
 * `headers` go with the gateway requests (e.g. an SSO proxy's identity header).
 */
export async function loginMember(
  t: ExecutionContext,
  gw: StartedGateway,
  sim: Simulator,
  userId: number,
  headers: OutgoingHttpHeaders = {},
): Promise<LoggedIn> {
  const started = await gwRequest(gw, '/-/login', { headers })
  if (started.status !== 303) throw new Error(`/-/login answered ${started.status}: ${started.body.slice(0, 300)}`)
  const loginCookie = started.cookie('c66p_login')
  const location = started.headers.location
  if (loginCookie === undefined || location === undefined) throw new Error('/-/login set no login cookie or Location')
  const consent = await answerConsent(sim, location, 'Authorize', { user_id: String(userId) })
  if (consent.location.origin !== gw.url) throw new Error(`the simulator sent the browser to ${consent.location.origin}, not the gateway`)
  const callback = await gwRequest(gw, consent.location.pathname + consent.location.search, { cookie: loginCookie, headers })
  const setCookie = (callback.headers['set-cookie'] ?? []).find((l) => l.startsWith('c66p_session='))
  if (callback.status !== 303 || setCookie === undefined)
    throw new Error(`/-/callback answered ${callback.status} without a session: ${callback.body.slice(0, 300)}`)
  t.log(`user ${userId} logged in on ${gw.url}`)
  return { cookie: setCookie.split(';', 1)[0] ?? '', setCookie, callback }
}

export interface CreatedKey {
  readonly id: string
  readonly key: string
  readonly reply: GwReply
}

/** POST /-/api/keys with the session cookie; fails the test unless it answers 201 with a key. */
export async function createKey(gw: { port: number }, cookie: string, request: Record<string, unknown> = { label: 'test' }): Promise<CreatedKey> {
  const reply = await gwRequest(gw, '/-/api/keys', { cookie, json: request })
  if (reply.status !== 201) throw new Error(`POST /-/api/keys answered ${reply.status}: ${reply.body}`)
  const body = reply.json<{ id: string; key: string }>()
  return { id: body.id, key: body.key, reply }
}

/** The error code of a JSON error reply. */
export function errorCode(reply: GwReply): unknown {
  try {
    return reply.json()['error']
  } catch {
    return `(not JSON: ${reply.body.slice(0, 100)})`
  }
}

/** The tokens the simulator saw since `from` (an index into `sim.requests`), excluding OAuth calls. */
export function apiTokensSince(sim: Simulator, from: number): Array<string | undefined> {
  return sim.requests
    .slice(from)
    .filter((r) => r.url.startsWith('/api/3/'))
    .map((r) => r.token)
}

/** The simulator's access token for `userId` as the gateway stored it after login. */
export async function memberToken(gw: StartedGateway, memberId: string): Promise<string | undefined> {
  return (await gw.store.getToken(memberId))?.accessToken.reveal()
}

// ── curl ─────────────────────────────────────────────────────────────────────────────────────

export interface CurlResult {
  readonly code: number | null
  readonly status: number
  readonly body: string
  readonly stderr: string
}

/**
 * Runs the real `curl` binary (trusting SELF_SIGNED through `--cacert`) and returns the HTTP
 * status it got; the process is killed when the test ends if it is still running.
 */
export async function runCurl(t: ExecutionContext, args: readonly string[]): Promise<CurlResult> {
  const tls = await tlsFiles(t)
  return within(
    new Promise<CurlResult>((resolve, reject) => {
      const child = spawn('curl', ['-sS', '--max-time', '15', '--cacert', tls.cert, '-w', '\n%{http_code}', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      t.teardown(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      })
      let out = ''
      let err = ''
      child.stdout.on('data', (c: Buffer) => (out += c.toString()))
      child.stderr.on('data', (c: Buffer) => (err += c.toString()))
      child.once('error', reject)
      child.once('close', (code) => {
        const cut = out.lastIndexOf('\n')
        resolve({ code, status: Number(out.slice(cut + 1)), body: out.slice(0, cut), stderr: err })
      })
    }),
    `curl ${args.join(' ')}`,
  )
}

/** Whether `needle` appears anywhere in what the simulator received (URL, any header, body). */
export function upstreamSaw(sim: Simulator, needle: string, from = 0): boolean {
  return sim.requests
    .slice(from)
    .some((r) => r.url.includes(needle) || r.rawHeaders.some((h) => h.includes(needle)) || r.body.toString('latin1').includes(needle))
}
