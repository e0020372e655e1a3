import { randomUUID } from 'node:crypto'
import net from 'node:net'
import test, { type ExecutionContext } from 'ava'
import { ALL_SCOPES, startSimulator, type Simulator } from '../../src/simulator/index.js'
import { cleanEnv, runCli } from '../helpers/cli.js'
import { startProxy, type StartedProxy } from '../helpers/proxy.js'
import { rawRequest } from '../helpers/raw-http.js'
import { hiddenTokenFile, provokeReplay } from '../helpers/rotation.js'
import { spawnProxy } from '../helpers/spawned-proxy.js'
import { cloud66TokenValue, tempHome } from '../helpers/token-files.js'

/**
 * One canary per way a secret enters the proxy. Each is unique to this run, so finding one in an
 * output can only mean the proxy copied it there.
 */
const id = randomUUID()
const CANARY = {
  token: `canary-token-${id}`,
  cx: `canary-cx-${id}`,
  caller: `canary-caller-${id}`,
  cookie: `canary-cookie-${id}`,
  query: `canary-query-${id}`,
  file: `canary-file-${id}`,
} as const
const rotated = (n: number) => `canary-rotated-${n}-${id}`
const CLOUD66_TOKEN = cloud66TokenValue(CANARY.cx)
/** Every string that must never come back out; rotated tokens share the `-${id}` tail. */
const SECRETS = [...Object.values(CANARY), CLOUD66_TOKEN, `rotated-1-${id}`]
const CALLER_SECRETS = [CANARY.caller, CANARY.cookie, CANARY.query]

const CALLER_HEADERS = { authorization: `Bearer ${CANARY.caller}`, cookie: `session=${CANARY.cookie}` }
const Q = `access_token=${CANARY.query}`

/** Everything the proxy said to anyone: responses, CLI output, spawned process output, metrics. */
class Outputs {
  readonly items: Array<{ where: string; text: string }> = []

  add(where: string, text: string): void {
    this.items.push({ where, text })
  }

  async fetch(where: string, url: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(url, { redirect: 'manual', ...init, headers: { ...CALLER_HEADERS, ...(init.headers as Record<string, string>) } })
    const body = await res.text()
    this.add(`${where} response`, `${res.status}\n${JSON.stringify([...res.headers])}\n${body}`)
    return new Response(res.status === 204 || res.status === 304 ? null : body, { status: res.status, headers: res.headers })
  }

  addLogs(where: string, proxy: StartedProxy): void {
    for (const line of proxy.logs) this.add(`${where} log`, line)
  }

  leaks(): string[] {
    const found: string[] = []
    for (const { where, text } of this.items) {
      for (const secret of SECRETS) if (text.includes(secret)) found.push(`${where} holds ${secret}`)
    }
    return found
  }
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function simulator(t: ExecutionContext): Promise<Simulator> {
  const noReboot = ALL_SCOPES.filter((s) => s !== 'reboot')
  const sim = await startSimulator({ tokens: { [CANARY.token]: noReboot, [CANARY.cx]: ALL_SCOPES, [CANARY.file]: ALL_SCOPES } })
  t.teardown(() => sim.close())
  return sim
}

test('canary tokens and caller credentials appear in no log line, response, CLI output or metric, on any path', async (t) => {
  const sim = await simulator(t)
  const home = tempHome(t)
  const out = new Outputs()
  const env = { HOME: home.home, CLOUD66_ACCESS_TOKEN: CANARY.token, CLOUD66_TOKEN: CLOUD66_TOKEN }
  const stacks = (await (await fetch(`${sim.url.origin}/api/3/stacks`, { headers: { authorization: `Bearer ${CANARY.cx}` } })).json()) as {
    response: Array<{ uid: string }>
  }
  const uid = stacks.response[0]?.uid ?? ''
  const seenBefore = sim.requests.length

  // The main proxy: success, every upstream error, a timeout, every rejection, its own pages.
  const main = await startProxy(t, { upstream: sim.url, env, flags: { responseTimeout: '1s' } })
  const expect = async (where: string, path: string, status: number, init: RequestInit = {}) => {
    t.is((await out.fetch(where, `${main.url}${path}`, init)).status, status, where)
  }
  await expect('success', `/stacks?${Q}`, 200)
  await expect('success /api/3', `/api/3/stacks.json?page=1&${Q}`, 200)
  await expect('upstream 401 (re-read, same token, passed through)', `/api/3/status/401?${Q}`, 401)
  await expect('upstream 403 missing scope', `/stacks/${uid}/reboot_servers?${Q}`, 403, { method: 'POST' })
  await expect('upstream 404', `/api/3/no_such_thing?${Q}`, 404)
  await expect('upstream redirect', `/api/3/redirect/self?${Q}`, 302)
  await expect('upstream timeout', `/api/3/hang?${Q}`, 504)
  await expect('echo', `/api/3/echo?${Q}`, 200, { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } })
  // Cloud 66's 503 throttled reaches the caller as 429, and the proxy then answers the caller's
  // next requests itself (429 budget_exhausted) until the hour ends: last of the forwarded ones.
  await expect('upstream 503 throttled', `/api/3/status/503?error=throttled&${Q}`, 429)
  await expect('held after throttling', `/stacks?${Q}`, 429)
  await expect('foreign origin', `/stacks?${Q}`, 403, { headers: { origin: 'https://evil.example' } })
  await expect('cross-site fetch', `/stacks?${Q}`, 403, { headers: { 'sec-fetch-site': 'cross-site' } })
  await expect('status page', '/-/', 200)
  await expect('readyz', '/-/readyz', 200)
  await expect('healthz', '/-/healthz', 200)
  const credentials = `Authorization: Bearer ${CANARY.caller}\r\nCookie: s=${CANARY.cookie}\r\nConnection: close\r\n`
  for (const [where, head] of [
    ['foreign host', `GET /stacks?${Q} HTTP/1.1\r\nHost: rebind.example:${main.port}\r\n`],
    ['dot-segment path', `GET /stacks/%2e%2e/accounts?${Q} HTTP/1.1\r\nHost: 127.0.0.1:${main.port}\r\n`],
    ['absolute-form target', `GET http://127.0.0.1:${main.port}/stacks?${Q} HTTP/1.1\r\nHost: 127.0.0.1:${main.port}\r\n`],
    ['TRACE', `TRACE /stacks?${Q} HTTP/1.1\r\nHost: 127.0.0.1:${main.port}\r\n`],
    ['oversized headers', `GET /stacks?${Q} HTTP/1.1\r\nHost: 127.0.0.1:${main.port}\r\nX-Big: ${'a'.repeat(20_000)}\r\n`],
  ] as const) {
    const res = await rawRequest(main.port, `${head}${credentials}\r\n`)
    t.true(res.status >= 400 && res.status < 500, `${where}: ${res.status}`)
    out.add(`${where} response`, res.raw)
  }
  await expect('metrics', '/-/metrics', 200)
  out.addLogs('main', main)

  // Read-only, no token, and an upstream that refuses connections.
  const readOnly = await startProxy(t, { upstream: sim.url, env, flags: { readOnly: true } })
  t.is((await out.fetch('read-only', `${readOnly.url}/stacks?${Q}`, { method: 'POST', body: '{}' })).status, 403)
  out.addLogs('read-only', readOnly)
  const noToken = await startProxy(t, { upstream: sim.url, env: { HOME: home.home } })
  t.is((await out.fetch('no token', `${noToken.url}/stacks?${Q}`)).status, 401)
  t.is((await out.fetch('no token readyz', `${noToken.url}/-/readyz`)).status, 503)
  out.addLogs('no token', noToken)
  const refused = await startProxy(t, { upstream: `http://127.0.0.1:${await closedPort()}`, env })
  t.is((await out.fetch('upstream refused', `${refused.url}/stacks?${Q}`)).status, 502)
  t.is((await out.fetch('upstream refused metrics', `${refused.url}/-/metrics`)).status, 200)
  out.addLogs('refused', refused)

  // The 401 replay path: the token changes behind the proxy's back and the request is replayed.
  const file = hiddenTokenFile(home.scratch, CANARY.file)
  const rotating = await startProxy(t, { upstream: sim.url, env: { HOME: home.home }, flags: { tokenFile: file.link } })
  const replay = await provokeReplay(sim, rotating.url, file, CANARY.file, rotated, {
    method: 'POST',
    body: 'replay me',
    headers: { ...CALLER_HEADERS, 'content-type': 'text/plain' },
  })
  t.is(replay.status, 200)
  out.add('replay response', replay.body)
  t.is((await out.fetch('replay metrics', `${rotating.url}/-/metrics`)).status, 200)
  out.addLogs('rotating', rotating)

  // The CLI: status, status --json, check-config (valid and broken).
  for (const args of [['status'], ['status', '--json'], ['check-config']]) {
    const r = await runCli(args, cleanEnv(env))
    out.add(`${args.join(' ')} output`, r.stdout + r.stderr)
  }
  const broken = await runCli(['check-config'], cleanEnv({ ...env, CLOUD66_TOKEN: Buffer.from(`{"AccessToken":"${CANARY.cx}"`).toString('base64') }))
  t.is(broken.code, 1)
  out.add('check-config with a broken CLOUD66_TOKEN', broken.stdout + broken.stderr)

  // The tokens did reach Cloud 66 (so this test cannot pass by sending nothing) ...
  const upstream = sim.requests.slice(seenBefore)
  t.true(upstream.filter((r) => r.token === CANARY.token).length >= 8, 'the main token reached the upstream')
  t.true(
    upstream.some((r) => r.token === replay.next),
    'the rotated token reached the upstream',
  )
  // ... and the caller's credentials did not.
  for (const r of upstream) {
    const sent = `${r.url}\n${JSON.stringify(r.rawHeaders)}\n${r.body.toString('latin1')}`
    for (const secret of CALLER_SECRETS) t.false(sent.includes(secret), `upstream got ${secret} on ${r.method} ${r.url.slice(0, 40)}`)
  }
  t.true(out.items.filter((i) => i.where.endsWith(' log')).length >= 20, 'the logs were captured')
  t.deepEqual(out.leaks(), [])
})

test('a spawned proxy fed CLOUD66_TOKEN writes no canary to its stdout or stderr, from start to shutdown', async (t) => {
  const sim = await simulator(t)
  const home = tempHome(t)
  const out = new Outputs()
  const proxy = await spawnProxy(t, sim.url, ['--log-level', 'debug', '--response-timeout', '1s'], { HOME: home.home, CLOUD66_TOKEN })
  const expect = async (where: string, path: string, status: number, init: RequestInit = {}) => {
    t.is((await out.fetch(where, `${proxy.url}${path}`, init)).status, status, where)
  }
  await expect('success', `/stacks?${Q}`, 200)
  await expect('upstream 401', `/api/3/status/401?${Q}`, 401)
  await expect('upstream 404', `/api/3/nope?${Q}`, 404)
  await expect('upstream timeout', `/api/3/hang?${Q}`, 504)
  await expect('foreign origin', `/stacks?${Q}`, 403, { headers: { origin: 'http://evil.example' } })
  await expect('status page', '/-/', 200)
  await expect('metrics', '/-/metrics', 200)
  const host = await rawRequest(
    proxy.port,
    `GET /stacks?${Q} HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer ${CANARY.caller}\r\nConnection: close\r\n\r\n`,
  )
  t.is(host.status, 403)
  out.add('foreign host response', host.raw)
  proxy.cli.child.kill('SIGTERM')
  t.like(await proxy.cli.exited, { code: 0 })
  const stdout = proxy.cli.stdout()
  t.regex(stdout, /"msg":"request"/, 'request lines were logged')
  t.regex(stdout, /"token_fingerprint":"sha256:[0-9a-f]{12}"/, 'the start-up line names the token by fingerprint')
  out.add('stdout', stdout)
  out.add('stderr', proxy.cli.stderr())
  t.true(
    sim.requests.some((r) => r.token === CANARY.cx),
    'the CLOUD66_TOKEN token reached the upstream',
  )
  t.deepEqual(out.leaks(), [])
})
