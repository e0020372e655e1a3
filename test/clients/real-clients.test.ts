// The real-client matrix: curl, python3 `requests`, Ruby's Net::HTTP and Go's net/http each send
// the same requests (a paged list, form and JSON bodies, a chunked upload, a 5 MiB streamed
// download, redirects to the upstream itself and to a foreign origin, Cloud 66's 404 and 503 JSON)
// once straight to the simulator with a token and once through the proxy without one. Each
// client must see the same through the proxy as direct, and the simulator must receive the same.
// The client scripts beside this file are tiny on purpose: what is compared is the clients' own
// HTTP behaviour (Expect: 100-continue, chunking, header handling), not code of ours.
import { spawn, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import test, { type ExecutionContext } from 'ava'
import type { Simulator, SimulatorRequestRecord } from '../../src/simulator/index.js'
import { startSim } from '../helpers/forwarding.js'
import { startProxy } from '../helpers/proxy.js'

const here = fileURLToPath(new URL('.', import.meta.url))
const TOKEN = 'sim-token'
const MiB = 1024 * 1024
const UPLOAD_BYTES = 2 * MiB // above --replay-body-limit (1 MiB): streamed, not buffered
const DOWNLOAD_BYTES = 5 * MiB

// The same requests for every client: NAME METHOD PATH BODY, one per line on the script's stdin.
const CASES = [
  ['paged', 'GET', '/api/3/stacks.json?page=2', 'none'],
  ['form', 'POST', '/api/3/echo', 'form'],
  ['json', 'POST', '/api/3/echo', 'json'],
  ['upload', 'POST', '/api/3/upload', 'chunked'],
  ['download', 'GET', `/api/3/big?bytes=${DOWNLOAD_BYTES}&chunked=1`, 'none'],
  ['redirect_self', 'GET', '/api/3/redirect/self', 'none'],
  ['redirect_foreign', 'GET', '/api/3/redirect/s3', 'none'],
  ['not_found', 'GET', '/api/3/stacks/no-such-stack.json', 'none'],
  ['unavailable', 'GET', '/api/3/status/503', 'none'],
] as const
type CaseName = (typeof CASES)[number][0]

// Rails reads both; non-ASCII bytes and bracketed names as real clients send them.
const FORM_BODY = 'stack%5Bname%5D=caf%C3%A9+cr%C3%A8me&tags%5B%5D=a&tags%5B%5D=b&note=a%26b'
const JSON_BODY = '{"stack":{"name":"café crème"},"tags":["a","b"],"note":"a&b"}'

/**
 * Response headers that differ between any two calls, or by design: `date`, the connection's own
 * `connection`/`keep-alive`, the simulator's random `x-request-id`, its per-token countdown
 * `x-ratelimit-remaining`, `set-cookie`, which the proxy drops, and the framing and sniffing
 * policy, which the proxy replaces with its own (both checked separately below).
 */
const VARYING = new Set([
  'date',
  'connection',
  'keep-alive',
  'x-request-id',
  'x-ratelimit-remaining',
  'set-cookie',
  'content-security-policy',
  'x-frame-options',
  'x-content-type-options',
])

interface Client {
  readonly name: string
  /** The command that runs the script; a check first tells whether the client is installed. */
  readonly prepare: (t: ExecutionContext) => string[]
}

/** Runs `cmd` and returns its exit status (undefined when it cannot be started). */
const status = (cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv) => spawnSync(cmd, args, { env, stdio: 'ignore' }).status ?? undefined

function need(ok: boolean, what: string): void {
  // CI installs every client (.ci/run); a missing one fails rather than passing untested.
  if (!ok) throw new Error(`${what} is not installed: run .ci/run, or apt-get install curl python3-requests ruby golang-go`)
}

const CLIENTS: readonly Client[] = [
  {
    name: 'curl',
    prepare: () => (need(status('curl', ['--version']) === 0, 'curl'), ['bash', join(here, 'curl.sh')]),
  },
  {
    name: 'python3 requests',
    prepare: () => {
      // Debian's python3-requests is for /usr/bin/python3; another python3 first on PATH may lack it.
      const python = ['/usr/bin/python3', 'python3'].find((p) => status(p, ['-c', 'import requests']) === 0)
      need(python !== undefined, 'python3 with requests')
      return [python ?? 'python3', join(here, 'python_requests.py')]
    },
  },
  {
    name: 'Ruby Net::HTTP',
    prepare: () => (need(status('ruby', ['-e', 'require "net/http"']) === 0, 'ruby'), ['ruby', join(here, 'net_http.rb')]),
  },
  {
    name: 'Go net/http',
    prepare: (t) => {
      need(status('go', ['version']) === 0, 'go')
      const dir = scratch(t, 'c66-go-')
      // Standard library only and offline: a build cache of its own, no module proxy.
      const env = {
        ...process.env,
        GOCACHE: join(dir, 'cache'),
        GOPATH: join(dir, 'path'),
        GOPROXY: 'off',
        GOFLAGS: '',
        GOTOOLCHAIN: 'local',
        GO111MODULE: 'off',
      }
      const binary = join(dir, 'net_http')
      const built = spawnSync('go', ['build', '-o', binary, join(here, 'net_http.go')], { env, encoding: 'utf8' })
      if (built.status !== 0) throw new Error(`go build failed: ${built.stderr}`)
      return [binary]
    },
  },
]

function scratch(t: ExecutionContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

interface Seen {
  readonly name: CaseName
  readonly status: number
  readonly headers: Record<string, string[]>
  readonly body: Buffer
}

/** Runs one client over every case against `base`; each process is waited for (and killed at the end if stuck). */
async function runClient(
  t: ExecutionContext,
  command: readonly string[],
  base: string,
  extraEnv: Record<string, string>,
  upload: string,
): Promise<Map<CaseName, Seen>> {
  const out = scratch(t, 'c66-client-')
  const [cmd = '', ...args] = command
  const child = spawn(cmd, [...args, base, out], {
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: out,
      LANG: 'C.UTF-8',
      C66_FORM_BODY: FORM_BODY,
      C66_JSON_BODY: JSON_BODY,
      C66_UPLOAD_FILE: upload,
      ...extraEnv,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
  const code = new Promise<number | null>((resolve) => child.on('close', resolve))
  child.stdin.end(`${CASES.map((c) => c.join(' ')).join('\n')}\n`)
  if ((await code) !== 0) throw new Error(`${command.join(' ')} failed: ${stderr}`)
  const seen = new Map<CaseName, Seen>()
  for (const line of stdout.split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as { name: CaseName; status: number; headers: Record<string, string[]> }
    const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]))
    seen.set(r.name, { ...r, headers, body: readFileSync(join(out, `${r.name}.body`)) })
  }
  return seen
}

/** What a client saw, comparable across origins: the simulator's and the proxy's become <origin>. */
function comparable(seen: Seen, origins: readonly string[]) {
  const norm = (s: string) => origins.reduce((acc, o) => acc.split(o).join('<origin>'), s)
  const textual = /json|text|form/.test(seen.headers['content-type']?.join() ?? '')
  const body = textual ? Buffer.from(norm(seen.body.toString('utf8'))) : seen.body
  const headers = Object.fromEntries(
    Object.entries(seen.headers)
      .filter(([k]) => !VARYING.has(k))
      .map(([k, v]): [string, string[]] => [k, v.map(norm)])
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  )
  return { status: seen.status, headers, bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') }
}

/** What reached the simulator, comparable across the two runs (its own host and the token aside). */
function upstreamView(r: SimulatorRequestRecord) {
  const h = r.headers
  return {
    method: r.method,
    url: r.url,
    contentType: h['content-type'],
    contentLength: h['content-length'],
    transferEncoding: h['transfer-encoding'],
    bodyBytes: r.bodyBytes,
    bodySha256: createHash('sha256').update(r.body).digest('hex'),
    userAgent: h['user-agent'],
    accept: h['accept'],
  }
}

/** The simulator's records from `from` on, one per case in order (each client sends them one by one). */
function recordsSince(sim: Simulator, from: number): SimulatorRequestRecord[] {
  return sim.requests.slice(from)
}

for (const client of CLIENTS) {
  test(`${client.name} sees the same through the proxy as straight from Cloud 66`, async (t) => {
    t.timeout(120_000)
    const command = client.prepare(t)
    const sim = await startSim(t)
    const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: TOKEN } })
    const upload = join(scratch(t, 'c66-upload-'), 'upload.bin')
    writeFileSync(upload, randomBytes(UPLOAD_BYTES))

    const directFrom = sim.requests.length
    const direct = await runClient(t, command, sim.url.origin, { C66_TOKEN: TOKEN }, upload)
    const proxiedFrom = sim.requests.length
    const proxied = await runClient(t, command, proxy.url, {}, upload)
    const directUp = recordsSince(sim, directFrom).slice(0, proxiedFrom - directFrom)
    const proxiedUp = recordsSince(sim, proxiedFrom)
    t.is(directUp.length, CASES.length, 'one upstream request per case, direct')
    t.is(proxiedUp.length, CASES.length, 'one upstream request per case, through the proxy (no redirect followed)')

    const origins = [sim.url.origin, proxy.url]
    CASES.forEach(([name], i) => {
      const d = direct.get(name)
      const p = proxied.get(name)
      if (!d || !p) return t.fail(`${name}: no answer (direct ${d !== undefined}, proxied ${p !== undefined})`)
      t.deepEqual(comparable(p, origins), comparable(d, origins), `${client.name}, ${name}: the client's view`)
      const [du, pu] = [directUp[i], proxiedUp[i]]
      if (!du || !pu) return t.fail(`${name}: no upstream record`)
      t.deepEqual(upstreamView(pu), upstreamView(du), `${client.name}, ${name}: what Cloud 66 received`)
      t.is(pu.token, TOKEN, `${name}: the proxy added the token`)
      t.is(p.headers['set-cookie'], undefined, `${name}: upstream Set-Cookie is dropped`)
      t.deepEqual(p.headers['x-content-type-options'], ['nosniff'], `${name}: the proxy's own nosniff, once`)
    })

    // The cases test what they say they test (each holds for the direct run and so, by the above, for the proxy).
    const seen = (name: CaseName) => proxied.get(name) as Seen
    const json = (name: CaseName) => JSON.parse(seen(name).body.toString('utf8')) as Record<string, unknown>
    t.like(json('paged'), { pagination: { current: 2 } })
    t.is(seen('form').body.toString('utf8'), FORM_BODY)
    t.is(seen('json').body.toString('utf8'), JSON_BODY)
    t.deepEqual(json('upload'), { response: { bytes: UPLOAD_BYTES } })
    t.is(proxiedUp[3]?.headers['transfer-encoding'], 'chunked', 'the upload arrived chunked')
    t.is(seen('download').body.length, DOWNLOAD_BYTES)
    t.true(
      seen('download').body.every((b, i) => b === i % 256),
      'the download arrived intact',
    )
    t.is(seen('redirect_self').status, 302)
    t.deepEqual(seen('redirect_self').headers['location'], [`${proxy.url}/api/3/stacks.json`], 'a redirect to Cloud 66 itself points back at the proxy')
    t.deepEqual(direct.get('redirect_self')?.headers['location'], [`${sim.url.origin}/api/3/stacks.json`])
    t.regex(seen('redirect_foreign').headers['location']?.[0] ?? '', /^https:\/\/c66-sim-bucket\.s3\.amazonaws\.com\//, 'a foreign Location is left alone')
    t.is(seen('not_found').status, 404)
    t.is(typeof json('not_found')['error'], 'string')
    t.is(seen('unavailable').status, 503)
    t.is(typeof json('unavailable')['error'], 'string')
    t.truthy(direct.get('paged')?.headers['set-cookie'], 'the simulator does set a cookie, so dropping it is tested')
  })
}
