// Team-gateway processes for the multi-replica and browser tests: the BUILT CLI
// (`node dist/main.js serve --mode gateway …`, run `npm run build` first), each replica on a free
// port of its own with its own TLS listener (SELF_SIGNED) and `--public-url https://127.0.0.1:<port>`,
// all sharing one store, one C66_PROXY_SECRET and the simulator's OAuth client. Plus an HTTPS
// client that trusts SELF_SIGNED, and the member's moves (log in, create and revoke keys) over it.
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import https from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.js'
import { cleanEnv, startCli, type RunningCli } from './cli.js'
import { SAFETY_TIMEOUT_MS, SELF_SIGNED, within } from './forwarding.js'
import { answerConsent } from './oauth-login.js'
import { CLIENT_ID, CLIENT_SECRET, startSim } from './oauth-sim.js'
import { until } from './wait.js'
import { freePort } from './ports.js'

export interface TlsFiles {
  readonly dir: string
  readonly cert: string
  readonly key: string
}

/** SELF_SIGNED written to a temporary directory (removed when the test ends), for --tls-cert/--tls-key and curl --cacert. */
export async function tlsFiles(t: ExecutionContext): Promise<TlsFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'c66-gw-tls-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const cert = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  await writeFile(cert, SELF_SIGNED.cert)
  await writeFile(key, SELF_SIGNED.key, { mode: 0o600 })
  return { dir, cert, key }
}

/**
 * The simulator as the gateway's Cloud 66, with the OAuth application registered for the gateway's
 * HTTPS callback. (The default test client only takes http loopback URIs; a registered loopback IP
 * literal matches on any port, so every replica's `https://127.0.0.1:<port>/-/callback` is accepted.)
 */
export function startGatewaySim(t: ExecutionContext, options: SimulatorOptions = {}): Promise<Simulator> {
  return startSim(t, {
    oauthClients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: ['https://127.0.0.1/-/callback'] }],
    ...options,
  })
}

/** A fresh C66_PROXY_SECRET: 32 random bytes, hex (what `c66-proxy secret generate` prints). */
export function newSecret(): string {
  return randomBytes(32).toString('hex')
}

export interface GatewayProcess {
  readonly id: string
  readonly port: number
  /** https://127.0.0.1:<port>: its public URL, which is also where it listens. */
  readonly origin: string
  readonly cli: RunningCli
  readonly dataDir: string
}

export interface GatewayOptions {
  readonly upstream: URL
  /** `file` or `redis://…`. */
  readonly store: string
  readonly secret: string
  readonly tls: TlsFiles
  /** Extra flags, e.g. ['--member-rate', '6/m']. */
  readonly args?: readonly string[]
  readonly env?: Record<string, string>
}

/**
 * Starts one gateway replica and resolves once it answers `/-/readyz` with 200. The process is
 * killed when the test ends (startCli's teardown); its data directory (audit log) is removed.
 */
export async function startGateway(t: ExecutionContext, replicaId: string, o: GatewayOptions): Promise<GatewayProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), `c66-gw-${replicaId}-`))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))
  for (let attempt = 1; ; attempt++) {
    const port = await freePort()
    const origin = `https://127.0.0.1:${port}`
    const args = [
      'serve',
      '--mode',
      'gateway',
      '--listen',
      `127.0.0.1:${port}`,
      '--public-url',
      origin,
      '--upstream',
      o.upstream.origin,
      '--store',
      o.store,
      '--replica-id',
      replicaId,
      '--tls-cert',
      o.tls.cert,
      '--tls-key',
      o.tls.key,
      '--client-id',
      CLIENT_ID,
      '--data-dir',
      dataDir,
      '--log-level',
      'info',
      ...(o.args ?? []),
    ]
    const cli = startCli(t, args, cleanEnv({ C66_PROXY_SECRET: o.secret, C66_CLIENT_SECRET: CLIENT_SECRET, ...o.env }))
    const [line] = await cli.waitFor(/c66-proxy listening on \S+|cannot listen on[^\n]*/)
    if (line.startsWith('cannot listen')) {
      await cli.exited
      if (/EADDRINUSE/.test(line) && attempt < 5) continue
      throw new Error(`replica ${replicaId} did not start: ${cli.stderr()}`)
    }
    const replica: GatewayProcess = { id: replicaId, port, origin, cli, dataDir }
    await until(
      `replica ${replicaId} to be ready`,
      async () => ((await request(replica, '/-/readyz').catch(() => undefined))?.status === 200 ? true : undefined),
      SAFETY_TIMEOUT_MS,
      50,
    )
    return replica
  }
}

/** Several replicas of one gateway (started in parallel), e.g. ids ['a', 'b', 'c']. */
export function startReplicas(t: ExecutionContext, ids: readonly string[], o: GatewayOptions): Promise<GatewayProcess[]> {
  return Promise.all(ids.map((id) => startGateway(t, id, o)))
}

// ── an HTTPS client that trusts SELF_SIGNED ────────────────────────────────────────────────────

export interface GatewayReply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
}

export interface RequestOptions {
  readonly method?: string
  readonly headers?: OutgoingHttpHeaders
  readonly body?: string
  /** Default: a fresh connection per request. */
  readonly agent?: https.Agent
  /** How long the answer may take before the test fails instead of hanging. Default SAFETY_TIMEOUT_MS. */
  readonly safetyMs?: number
}

/** A keep-alive agent that trusts SELF_SIGNED (for many requests), destroyed when the test ends. */
export function trustingAgent(t: ExecutionContext): https.Agent {
  const agent = new https.Agent({ keepAlive: true, ca: SELF_SIGNED.cert, maxSockets: Infinity })
  t.teardown(() => agent.destroy())
  return agent
}

/** One request to a replica (the path may carry a query), answered in full; verified against SELF_SIGNED. */
export function request(replica: Pick<GatewayProcess, 'origin'>, path: string, options: RequestOptions = {}): Promise<GatewayReply> {
  const url = new URL(path, replica.origin)
  return within(
    new Promise<GatewayReply>((resolve, reject) => {
      const body = options.body === undefined ? undefined : Buffer.from(options.body)
      const headers: OutgoingHttpHeaders = { ...options.headers, ...(body === undefined ? {} : { 'content-length': body.length }) }
      const req = https.request(
        url,
        { method: options.method ?? 'GET', headers, ...(options.agent ? { agent: options.agent } : { agent: false, ca: SELF_SIGNED.cert }) },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
          res.once('error', reject)
        },
      )
      req.once('error', reject)
      req.end(body)
    }),
    `${options.method ?? 'GET'} ${url.href}`,
    options.safetyMs,
  )
}

/** The JSON body of a reply (fails the test with the text when it is not JSON). */
export function jsonOf<T = Record<string, unknown>>(reply: GatewayReply): T {
  try {
    return JSON.parse(reply.text) as T
  } catch {
    throw new Error(`expected JSON, got ${reply.status}: ${reply.text.slice(0, 300)}`)
  }
}

/** GET an API path with a gateway key as `Authorization: Bearer`. */
export function withKey(
  replica: Pick<GatewayProcess, 'origin'>,
  key: string,
  path = '/stacks.json',
  options: Pick<RequestOptions, 'agent' | 'safetyMs'> = {},
): Promise<GatewayReply> {
  return request(replica, path, { headers: { authorization: `Bearer ${key}` }, ...options })
}

// ── the member's moves ─────────────────────────────────────────────────────────────────────────

function cookieFrom(reply: GatewayReply, name: string): string | undefined {
  const lines = reply.headers['set-cookie'] ?? []
  return lines.find((l) => l.startsWith(`${name}=`))?.split(';', 1)[0]
}

export interface MemberLogin {
  /** `c66p_session=…`, for the Cookie header. */
  readonly session: string
  /** The full Set-Cookie line of the session, as the replica sent it. */
  readonly setCookie: string
  /** The callback's answer. */
  readonly callback: GatewayReply
}

/**
 * A member logs in: /-/login on `start`, Authorize on the simulator's consent page as `userId`,
 * and the redirect back (same path and query, with the login cookie) delivered to `finish`: the
 * pending login lives in the shared store, so any replica can complete it.
 */
export async function logIn(sim: Simulator, start: GatewayProcess, finish: GatewayProcess = start, userId = 1): Promise<MemberLogin> {
  const begun = await request(start, '/-/login')
  const loginCookie = cookieFrom(begun, 'c66p_login')
  const location = begun.headers.location
  if (begun.status !== 303 || location === undefined || loginCookie === undefined)
    throw new Error(`/-/login on ${start.id} answered ${begun.status}: ${begun.text.slice(0, 300)}`)
  const consent = await answerConsent(sim, location, 'Authorize', { user_id: String(userId) })
  const back = `${consent.location.pathname}${consent.location.search}`
  const callback = await request(finish, back, { headers: { cookie: loginCookie } })
  const setCookie = (callback.headers['set-cookie'] ?? []).find((l) => l.startsWith('c66p_session='))
  const session = cookieFrom(callback, 'c66p_session')
  if (callback.status !== 303 || session === undefined || setCookie === undefined)
    throw new Error(`/-/callback on ${finish.id} answered ${callback.status}: ${callback.text.slice(0, 300)}`)
  return { session, setCookie, callback }
}

/** A call to the JSON API under /-/api/ with the session cookie (JSON body for anything but GET). */
export function api(replica: GatewayProcess, session: string, method: string, path: string, body?: unknown): Promise<GatewayReply> {
  const json = method === 'GET' ? undefined : JSON.stringify(body ?? {})
  return request(replica, `/-/api${path}`, {
    method,
    headers: { cookie: session, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(json === undefined ? {} : { body: json }),
  })
}

export interface CreatedKey {
  readonly id: string
  readonly key: string
}

/** POST /-/api/keys; fails the test unless the key was created. */
export async function createKey(replica: GatewayProcess, session: string, label: string): Promise<CreatedKey> {
  const reply = await api(replica, session, 'POST', '/keys', { label })
  const created = jsonOf<{ id?: string; key?: string }>(reply)
  if (reply.status !== 201 || created.id === undefined || created.key === undefined)
    throw new Error(`POST /-/api/keys on ${replica.id} answered ${reply.status}: ${reply.text.slice(0, 300)}`)
  return { id: created.id, key: created.key }
}

/** The answers of `probe`, polled every `everyMs`, until `done` says so or `budgetMs` has passed (then the last answer). */
export async function pollFor<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  budgetMs: number,
  everyMs: number,
): Promise<{ value: T; withinBudget: boolean; polls: number }> {
  const deadline = Date.now() + budgetMs
  for (let polls = 1; ; polls++) {
    const value = await probe()
    if (done(value)) return { value, withinBudget: Date.now() <= deadline, polls }
    if (Date.now() > deadline) return { value, withinBudget: false, polls }
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
