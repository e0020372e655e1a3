import { once } from 'node:events'
import { request } from 'node:http'
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import test from 'ava'
import type { ExecutionContext } from 'ava'
import { DEFAULT_TOKEN, startSimulator } from '../../src/simulator/index.js'
import type { Simulator, SimulatorOptions, SimulatorRequestRecord } from '../../src/simulator/index.js'

const AUTH = { authorization: `Bearer ${DEFAULT_TOKEN}` }

async function start(t: ExecutionContext, options?: SimulatorOptions): Promise<Simulator> {
  const sim = await startSimulator(options)
  t.teardown(() => sim.close())
  return sim
}

interface Json {
  [key: string]: unknown
  response: any // eslint-disable-line @typescript-eslint/no-explicit-any -- test data is checked field by field
}

async function getJson(sim: Simulator, path: string, headers: Record<string, string> = AUTH): Promise<{ res: Response; body: Json }> {
  const res = await fetch(new URL(path, sim.url), { headers })
  return { res, body: (await res.json()) as Json }
}

async function send(sim: Simulator, method: string, path: string, body: unknown, type = 'application/json'): Promise<Response> {
  const payload = type === 'application/json' ? JSON.stringify(body) : new URLSearchParams(body as Record<string, string>).toString()
  return fetch(new URL(path, sim.url), { method, headers: { ...AUTH, 'content-type': type }, body: payload })
}

/** node:http, because fetch refuses a GET with a body and hides raw details. */
async function raw(
  sim: Simulator,
  method: string,
  path: string,
  headers: OutgoingHttpHeaders,
  body?: string | Buffer,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  // Node sends a GET body with neither Content-Length nor chunking unless told its length.
  const length = body === undefined ? {} : { 'content-length': Buffer.byteLength(body) }
  const req = request(new URL(path, sim.url), { method, headers: { ...length, ...headers } })
  req.end(body)
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  const chunks: Buffer[] = []
  for await (const chunk of res) chunks.push(chunk as Buffer)
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }
}

async function firstStackUid(sim: Simulator): Promise<string> {
  const { body } = await getJson(sim, '/api/3/stacks.json')
  return body.response[0].uid as string
}

function nextRecord(sim: Simulator): Promise<SimulatorRequestRecord> {
  return once(sim.events, 'request').then(([record]) => record as SimulatorRequestRecord)
}

// Envelope and routing

test('lists 45 stacks in the v3 envelope, 30 to a page', async (t) => {
  const sim = await start(t)
  const first = await getJson(sim, '/api/3/stacks.json')
  t.is(first.res.status, 200)
  t.is(first.res.headers.get('content-type'), 'application/json; charset=utf-8')
  t.is(first.body.response.length, 30)
  t.is(first.body.count, 45)
  t.deepEqual(first.body.pagination, { previous: null, next: 2, current: 1, per_page: 30, count: 45, pages: 2 })

  const second = await getJson(sim, '/api/3/stacks.json?page=2')
  t.is(second.body.response.length, 15)
  t.deepEqual(second.body.pagination, { previous: 1, next: null, current: 2, per_page: 30, count: 45, pages: 2 })
  const uids = new Set([...first.body.response, ...second.body.response].map((s: { uid: string }) => s.uid))
  t.is(uids.size, 45)
})

test('every route answers with and without the .json suffix', async (t) => {
  const sim = await start(t)
  const uid = await firstStackUid(sim)
  for (const path of ['/api/3/stacks', `/api/3/stacks/${uid}`, `/api/3/stacks/${uid}/servers`, '/api/3/ping']) {
    const plain = await getJson(sim, path)
    const suffixed = await getJson(sim, `${path}.json`)
    t.is(plain.res.status, 200, path)
    t.deepEqual(plain.body, suffixed.body, path)
  }
})

test('a single object comes as {response}, unknown routes and ids as JSON 404s', async (t) => {
  const sim = await start(t)
  const uid = await firstStackUid(sim)
  const one = await getJson(sim, `/api/3/stacks/${uid}.json`)
  t.deepEqual(Object.keys(one.body), ['response'])
  t.is(one.body.response.uid, uid)

  const missing = await getJson(sim, '/api/3/stacks/no-such-stack.json')
  t.is(missing.res.status, 404)
  t.is(missing.body.error, 'not_found')
  t.is(typeof missing.body.error_description, 'string')
  t.is((await getJson(sim, '/api/3/no/such/route')).res.status, 404)
})

test('the data is the same in every simulator', async (t) => {
  const [a, b] = await Promise.all([start(t), start(t)])
  t.deepEqual((await getJson(a, '/api/3/stacks')).body, (await getJson(b, '/api/3/stacks')).body)
})

test('every API answer but 401/403 sets a Rails session cookie', async (t) => {
  const sim = await start(t, { budgetPerToken: 1 })
  for (const path of ['/api/3/ping', '/api/3/stacks', '/api/3/stacks', '/api/3/nowhere']) {
    const res = await fetch(new URL(path, sim.url), { headers: AUTH })
    t.regex(res.headers.get('set-cookie') ?? '', /^_cloud66_session=\w+; path=\/; HttpOnly$/, `${path} ${res.status}`)
  }
  const unauthorized = await fetch(new URL('/api/3/stacks', sim.url))
  t.is(unauthorized.headers.get('set-cookie'), null)
})

// Authentication and scopes (Doorkeeper)

test('a missing token gets Doorkeeper’s empty 401', async (t) => {
  const sim = await start(t)
  t.is((await getJson(sim, '/api/3/ping.json', {})).res.status, 200)
  const res = await fetch(new URL('/api/3/ping/auth.json', sim.url))
  t.is(res.status, 401)
  t.is(await res.text(), '')
  t.is(res.headers.get('content-type'), 'text/html')
  t.is(res.headers.get('cache-control'), 'no-store')
  t.is(res.headers.get('pragma'), 'no-cache')
  t.is(res.headers.get('www-authenticate'), 'Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid"')
})

test('unknown, Basic and revoked tokens are refused, revoked ones as such', async (t) => {
  const sim = await start(t, { tokens: { alpha: ['public'], beta: ['public'] } })
  const status = async (headers: Record<string, string>): Promise<number> => (await fetch(new URL('/api/3/stacks', sim.url), { headers })).status
  t.is(await status({ authorization: 'Bearer alpha' }), 200)
  t.is(await status({ authorization: 'Bearer gamma' }), 401)
  t.is(await status({ authorization: 'Basic YWxwaGE6' }), 401)

  sim.revokeToken('alpha')
  const res = await fetch(new URL('/api/3/stacks', sim.url), { headers: { authorization: 'Bearer alpha' } })
  t.is(res.status, 401)
  t.regex(res.headers.get('www-authenticate') ?? '', /error_description="The access token was revoked"$/)
  t.is(await status({ authorization: 'Bearer beta' }), 200)

  sim.setToken('alpha', ['public'])
  t.is(await status({ authorization: 'Bearer alpha' }), 200)
})

test('the token may come as "bearer" in any case or as ?access_token', async (t) => {
  const sim = await start(t)
  t.is((await fetch(new URL('/api/3/stacks', sim.url), { headers: { authorization: `bEaReR ${DEFAULT_TOKEN}` } })).status, 200)
  const recorded = nextRecord(sim)
  t.is((await fetch(new URL(`/api/3/stacks.json?access_token=${DEFAULT_TOKEN}`, sim.url))).status, 200)
  t.is((await recorded).token, DEFAULT_TOKEN)
})

test('a token without the endpoint’s scope gets an empty 403 without WWW-Authenticate', async (t) => {
  const sim = await start(t, { tokens: { reader: ['public'] } })
  const headers = { authorization: 'Bearer reader' }
  const { res: listed, body } = await getJson(sim, '/api/3/stacks', headers)
  t.is(listed.status, 200)
  const stack = body.response[0].uid as string
  for (const [method, path] of [
    ['GET', '/api/3/accounts'],
    ['GET', `/api/3/stacks/${stack}/environments`],
    ['POST', `/api/3/stacks/${stack}/deployments`],
  ] as const) {
    const res = await fetch(new URL(path, sim.url), { method, headers })
    t.is(res.status, 403, `${method} ${path}`)
    t.is(await res.text(), '')
    t.is(res.headers.get('www-authenticate'), null)
    t.is(res.headers.get('cache-control'), 'no-store')
  }
})

test('a server’s private key needs admin on top of public', async (t) => {
  const sim = await start(t, { tokens: { reader: ['public'], admin: ['public', 'admin'] } })
  const { body } = await getJson(sim, '/api/3/stacks', { authorization: 'Bearer reader' })
  const stack = body.response[0].uid as string
  const servers = await getJson(sim, `/api/3/stacks/${stack}/servers`, { authorization: 'Bearer reader' })
  const path = `/api/3/stacks/${stack}/servers/${servers.body.response[0].uid as string}.json`

  const plain = await getJson(sim, path, { authorization: 'Bearer reader' })
  t.is(plain.body.response.ssh_private_key, null)
  t.is((await fetch(new URL(`${path}?include_private_key=1`, sim.url), { headers: { authorization: 'Bearer reader' } })).status, 403)
  const withKey = await getJson(sim, `${path}?include_private_key=1`, { authorization: 'Bearer admin' })
  t.regex(withKey.body.response.private_key as string, /^-----BEGIN OPENSSH PRIVATE KEY-----/)
})

// Rate limit

test('a token is throttled with 503 after its budget; others are not', async (t) => {
  const sim = await start(t, { budgetPerToken: 3, tokens: { a: ['public'], b: ['public'] } })
  const remaining: (string | null)[] = []
  for (let i = 0; i < 3; i++) {
    const res = await fetch(new URL('/api/3/stacks', sim.url), { headers: { authorization: 'Bearer a' } })
    t.is(res.status, 200)
    t.is(res.headers.get('x-ratelimit-limit'), '3')
    remaining.push(res.headers.get('x-ratelimit-remaining'))
  }
  t.deepEqual(remaining, ['2', '1', '0'])

  const throttled = await getJson(sim, '/api/3/stacks', { authorization: 'Bearer a' })
  t.is(throttled.res.status, 503)
  t.deepEqual(throttled.body, {
    error: 'throttled',
    error_description: 'Rate limit exceeded. Retry in the next hourly interval.',
  })
  t.is(throttled.res.headers.get('x-ratelimit-remaining'), '0')
  t.is((await fetch(new URL('/api/3/stacks', sim.url), { headers: { authorization: 'Bearer b' } })).status, 200)
  t.is((await fetch(new URL('/api/3/ping', sim.url))).status, 200) // no token, no budget
})

// Request bodies

test('a GET with a JSON body works, and its params are used', async (t) => {
  const sim = await start(t)
  const page = await raw(sim, 'GET', '/api/3/stacks.json', { ...AUTH, 'content-type': 'application/json' }, '{"page":2}')
  t.is(page.status, 200)
  t.is(JSON.parse(page.body.toString()).pagination.current, 2)

  const broken = await raw(sim, 'GET', '/api/3/stacks.json', { ...AUTH, 'content-type': 'application/json' }, '{"page":')
  t.is(broken.status, 200)
  t.is(JSON.parse(broken.body.toString()).pagination.current, 1)

  const uid = await firstStackUid(sim)
  const servers = await getJson(sim, `/api/3/stacks/${uid}/servers`)
  const server = await raw(
    sim,
    'GET',
    `/api/3/stacks/${uid}/servers/${servers.body.response[0].uid as string}.json`,
    { ...AUTH, 'content-type': 'application/json' },
    '{"include_private_key":true}',
  )
  t.regex(JSON.parse(server.body.toString()).response.ssh_private_key as string, /PRIVATE KEY/)
})

test('mutations take form-encoded and JSON bodies', async (t) => {
  const sim = await start(t)
  const uid = await firstStackUid(sim)
  const created = await send(sim, 'POST', `/api/3/stacks/${uid}/environments.json`, { key: 'FEATURE_X', value: 'on' }, 'application/x-www-form-urlencoded')
  t.is(created.status, 200)
  const action = ((await created.json()) as Json).response
  t.is(action.action, 'env-var-new')
  t.is(action.finished_at, null)

  t.is((await send(sim, 'PUT', `/api/3/stacks/${uid}/environments/FEATURE_X.json`, { value: 'off' })).status, 200)
  const shown = await getJson(sim, `/api/3/stacks/${uid}/environments/FEATURE_X`)
  t.is(shown.body.response.value, 'off')
  t.is(shown.body.response.history[0].value, 'on')

  t.is((await send(sim, 'POST', `/api/3/stacks/${uid}/environments`, { value: 'no key' })).status, 400)
  const malformed = await fetch(new URL(`/api/3/stacks/${uid}/environments`, sim.url), {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: '{"key":',
  })
  t.is(malformed.status, 400)
  t.is(((await malformed.json()) as Json).error, 'bad_request')
})

test('redeploy and actions answer with async action ids that can be polled', async (t) => {
  const sim = await start(t)
  const uid = await firstStackUid(sim)
  const redeploy = ((await (await send(sim, 'POST', `/api/3/stacks/${uid}/deployments.json`, { git_ref: 'main' })).json()) as Json).response
  t.like(redeploy, { ok: true, queued: true })
  const polled = await getJson(sim, `/api/3/stacks/${uid}/actions/${redeploy.async_action_id as number}.json`)
  t.is(polled.body.response.action, 'stack_redeploy')

  const restart = await send(sim, 'POST', `/api/3/stacks/${uid}/actions`, { command: 'restart' })
  t.is(((await restart.json()) as Json).response.action, 'restart')
  t.is((await send(sim, 'POST', `/api/3/stacks/${uid}/actions`, { command: 'rm -rf' })).status, 400)
})

test('a backup file is a presigned off-host URL', async (t) => {
  const sim = await start(t, { s3Origin: 'http://127.0.0.1:9' })
  const uid = await firstStackUid(sim)
  const backups = await getJson(sim, `/api/3/stacks/${uid}/backups.json`)
  const backup = backups.body.response[0].id as number
  const files = await getJson(sim, `/api/3/stacks/${uid}/backups/${backup}/files.json`)
  const file = await getJson(sim, `/api/3/stacks/${uid}/backups/${backup}/files/${files.body.response[0].id as string}.json`)
  t.is(file.body.response.ok, true)
  t.regex(file.body.response.public_url as string, /^http:\/\/127\.0\.0\.1:9\/backups\/.+\?.*&Signature=/)
  t.regex(file.body.response.public_url as string, /%25/) // escapes arrive double-encoded, as upstream's do
})

// Streaming endpoints

test('big streams exactly the size asked for, with or without Content-Length', async (t) => {
  const sim = await start(t)
  const sized = await fetch(new URL('/api/3/big?mb=2.5', sim.url), { headers: AUTH })
  t.is(sized.headers.get('content-type'), 'application/octet-stream')
  t.is(sized.headers.get('content-length'), String(2.5 * 1024 * 1024))
  const bytes = new Uint8Array(await sized.arrayBuffer())
  t.is(bytes.length, 2.5 * 1024 * 1024)
  t.true(bytes.every((b, i) => b === i % 256))

  const chunked = await fetch(new URL('/api/3/big?bytes=100001&chunked=1', sim.url), { headers: AUTH })
  t.is(chunked.headers.get('content-length'), null)
  t.is((await chunked.arrayBuffer()).byteLength, 100_001)
  t.is((await fetch(new URL('/api/3/big?mb=-1', sim.url), { headers: AUTH })).status, 400)
})

test('echo streams the request body back with its Content-Type', async (t) => {
  const sim = await start(t)
  const payload = Buffer.alloc(3 * 1024 * 1024 + 7, 'c66')
  const res = await fetch(new URL('/api/3/echo', sim.url), {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/x-c66-test' },
    body: payload,
  })
  t.is(res.status, 200)
  t.is(res.headers.get('content-type'), 'application/x-c66-test')
  t.is(res.headers.get('content-length'), null)
  t.true(Buffer.from(await res.arrayBuffer()).equals(payload))
})

test('upload counts a body it never buffers', async (t) => {
  const sim = await start(t)
  const recorded = nextRecord(sim)
  const res = await fetch(new URL('/api/3/upload', sim.url), { method: 'PUT', headers: AUTH, body: Buffer.alloc(5_000_000) })
  t.deepEqual(await res.json(), { response: { bytes: 5_000_000 } })
  const record = await recorded
  t.is(record.bodyBytes, 5_000_000)
  t.is(record.body.length, 1024 * 1024)
})

test('slow sends its first chunk at once', async (t) => {
  const sim = await start(t)
  const controller = new AbortController()
  // A minute between chunks: the first can only arrive if it is flushed with the headers.
  const res = await fetch(new URL('/api/3/slow?chunks=2&interval_ms=60000', sim.url), { headers: AUTH, signal: controller.signal })
  const reader = res.body!.getReader()
  const first = await reader.read()
  t.is(new TextDecoder().decode(first.value), '[{"chunk":0,"of":2}\n')
  controller.abort()
  await reader.closed.catch(() => undefined)
})

test('slow ends as a JSON array', async (t) => {
  const sim = await start(t)
  const res = await fetch(new URL('/api/3/slow?chunks=3&interval_ms=0', sim.url), { headers: AUTH })
  t.deepEqual(await res.json(), [
    { chunk: 0, of: 3 },
    { chunk: 1, of: 3 },
    { chunk: 2, of: 3 },
  ])
})

test('a gate holds its answers, GET and HEAD, until the test opens it, and lets later ones through at once', async (t) => {
  const sim = await start(t)
  const url = new URL('/api/3/gate/g', sim.url)
  const get = await fetch(url, { headers: AUTH })
  const body = get.text()
  const head = fetch(url, { method: 'HEAD', headers: AUTH })
  let headDone = false
  void head.then(() => (headDone = true))
  while (sim.waitingAtGate('g') < 2) await new Promise((resolve) => setTimeout(resolve, 10))
  t.is(get.status, 200, 'a GET has its head before the gate opens')
  t.false(headDone, 'a HEAD waits for the gate')
  sim.openGate('g')
  t.deepEqual(JSON.parse(await body), [{ gate: 'g' }])
  t.is((await head).status, 200)
  t.is(sim.waitingAtGate('g'), 0)
  t.deepEqual(await (await fetch(url, { headers: AUTH })).json(), [{ gate: 'g' }])
})

test('hang never answers until the client gives up; the simulator carries on', async (t) => {
  const sim = await start(t)
  const controller = new AbortController()
  const arrived = nextRecord(sim)
  const pending = fetch(new URL('/api/3/hang', sim.url), { headers: AUTH, signal: controller.signal })
  await arrived
  controller.abort()
  await t.throwsAsync(pending, { any: true, name: 'AbortError' }) // a DOMException
  t.is((await fetch(new URL('/api/3/ping', sim.url))).status, 200)
})

test('hang?after_headers=1 sends the head and one chunk, then stalls', async (t) => {
  const sim = await start(t)
  const controller = new AbortController()
  const res = await fetch(new URL('/api/3/hang?after_headers=1', sim.url), { headers: AUTH, signal: controller.signal })
  t.is(res.status, 200)
  const reader = res.body!.getReader()
  t.is(new TextDecoder().decode((await reader.read()).value), '{"response":[')
  controller.abort()
  await reader.closed.catch(() => undefined)
})

test('close() ends hanging connections', async (t) => {
  const sim = await startSimulator()
  const arrived = nextRecord(sim)
  const pending = fetch(new URL('/api/3/hang', sim.url), { headers: AUTH })
  await arrived
  await sim.close()
  await t.throwsAsync(pending)
  await sim.close() // idempotent
})

test('redirects point at the simulator itself and at the S3 origin', async (t) => {
  const sim = await start(t, { s3Origin: 'https://bucket.example' })
  const self = await fetch(new URL('/api/3/redirect/self', sim.url), { headers: AUTH, redirect: 'manual' })
  t.is(self.status, 302)
  t.is(self.headers.get('location'), `${sim.url.origin}/api/3/stacks.json`)
  const s3 = await fetch(new URL('/api/3/redirect/s3', sim.url), { headers: AUTH, redirect: 'manual' })
  t.is(s3.headers.get('location'), 'https://bucket.example/backups/db.tar.gz?X-Amz-Signature=abc')
})

test('status/:code answers with that status and an error body', async (t) => {
  const sim = await start(t)
  const failed = await getJson(sim, '/api/3/status/502')
  t.is(failed.res.status, 502)
  t.deepEqual(Object.keys(failed.body), ['error', 'error_description'])
  t.is((await getJson(sim, '/api/3/status/409')).body.error, 'conflict')
  t.is((await fetch(new URL('/api/3/status/204', sim.url), { headers: AUTH })).status, 204)
})

// Request records

test('records each request as received, raw URL and all', async (t) => {
  const sim = await start(t)
  const recorded = nextRecord(sim)
  const path = '/api/3/stacks.json?filter_name=a%20b&x=%2F'
  await raw(sim, 'GET', path, { Authorization: `Bearer ${DEFAULT_TOKEN}`, 'X-Account': '42', 'content-type': 'application/json' }, '{"page":1}')
  const record = await recorded
  t.is(record.method, 'GET')
  t.is(record.url, path)
  t.is(record.headers['x-account'], '42')
  t.true(record.rawHeaders.includes('X-Account'))
  t.is(record.body.toString(), '{"page":1}')
  t.is(record.bodyBytes, 10)
  t.is(record.token, DEFAULT_TOKEN)
  t.is(sim.requests.at(-1), record)
})

test('an aborted upload is recorded with what arrived', async (t) => {
  const sim = await start(t)
  const recorded = nextRecord(sim)
  const req = request(new URL('/api/3/echo', sim.url), { method: 'POST', headers: { ...AUTH, 'content-length': 1_000_000 } })
  req.on('error', () => undefined)
  req.write(Buffer.alloc(1000, 1))
  // The echo proves the simulator has read the bytes before the client gives up.
  const [res] = (await once(req, 'response')) as [IncomingMessage]
  let echoed = 0
  for await (const chunk of res) {
    echoed += (chunk as Buffer).length
    if (echoed === 1000) break
  }
  req.destroy()
  const record = await recorded
  t.is(record.bodyBytes, 1000)
  t.true(record.body.equals(Buffer.alloc(1000, 1)))
  t.is(record.token, DEFAULT_TOKEN)
})

test('malformed input gets a 400, not a crash', async (t) => {
  const sim = await start(t)
  t.is((await raw(sim, 'GET', '/api/3/stacks/%E0%A4%A', AUTH)).status, 400)
  t.is((await raw(sim, 'POST', '/api/3/stacks', { ...AUTH, 'content-type': 'application/json' }, '[1,2]')).status, 400)
  t.is((await getJson(sim, '/api/3/ping')).res.status, 200)
})
