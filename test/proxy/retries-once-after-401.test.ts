// Forwarding contract, part 10: on a Cloud 66 401 the proxy re-reads its token sources and, if the
// token changed (the user just ran `cx login`, or rewrote the token file), sends the request once
// more with the new token, provided it can: no body, or a small one it buffered. A streamed body
// cannot be sent twice, and an unchanged token would only get the same 401, so those 401s reach
// the caller as they are. c66_proxy_upstream_401_total{action} counts both outcomes.
import test, { type ExecutionContext } from 'ava'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startProxy, type StartedProxy } from '../helpers/proxy.js'
import { metricValue, metricsText, recorded, send, startSim } from '../helpers/forwarding.js'
import { ALL_SCOPES, type Simulator } from '../../src/simulator/index.js'

const OLD = 'old-token-cloud66-rejects'
const NEW = 'new-token-cloud66-accepts'

interface Setup {
  sim: Simulator
  proxy: StartedProxy
  tokenFile: string
}

/** A simulator that knows only NEW, and a proxy reading its token from a file that holds OLD. */
async function setup(t: ExecutionContext, flags: Record<string, unknown> = {}): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'c66-proxy-retry-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, `${OLD}\n`)
  const sim = await startSim(t, { tokens: { [NEW]: ALL_SCOPES } })
  const proxy = await startProxy(t, { upstream: sim.url, flags: { tokenFile, ...flags } })
  return { sim, proxy, tokenFile }
}

/**
 * Rewrites the token file the moment the upstream receives a request carrying OLD: after the
 * proxy sent it, before the proxy can see the 401 (the simulator runs in this same process).
 */
function rotateOnFirstUse({ sim, tokenFile }: Setup, to: string): void {
  let rotated = false
  sim.server.prependListener('request', (req: IncomingMessage) => {
    if (!rotated && req.headers.authorization === `Bearer ${OLD}`) {
      rotated = true
      writeFileSync(tokenFile, `${to}\n`)
    }
  })
}

async function count401(proxy: StartedProxy, action: 'replayed' | 'passed_through'): Promise<number> {
  return metricValue(await metricsText(proxy), 'c66_proxy_upstream_401_total', { action })
}

test('a GET that gets a 401 is sent again with the re-read token when the token file changed', async (t) => {
  const s = await setup(t)
  rotateOnFirstUse(s, NEW)
  const reply = await send(`${s.proxy.url}/stacks.json`)
  t.is(reply.status, 200, 'the caller never saw the 401')
  t.is((JSON.parse(reply.body.toString()) as { response: unknown[] }).response.length, 30)
  const requests = await recorded(s.sim, 2)
  t.deepEqual(
    requests.map((r) => [r.method, r.url, r.token]),
    [
      ['GET', '/api/3/stacks.json', OLD],
      ['GET', '/api/3/stacks.json', NEW],
    ],
  )
  t.is(await count401(s.proxy, 'replayed'), 1)
  t.is(await count401(s.proxy, 'passed_through'), 0)
})

test('a POST with a small body that gets a 401 is replayed with the identical body and the new token', async (t) => {
  const s = await setup(t)
  rotateOnFirstUse(s, NEW)
  const body = '{"command":"restart","user_reference":"deploy-42"}'
  const reply = await send(`${s.proxy.url}/api/3/echo`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })
  t.is(reply.status, 200)
  t.is(reply.body.toString(), body, 'the caller got the answer to the replayed request')
  const requests = await recorded(s.sim, 2)
  t.is(requests.length, 2)
  t.deepEqual(
    requests.map((r) => r.token),
    [OLD, NEW],
  )
  for (const r of requests) {
    t.is(r.method, 'POST')
    t.is(r.body.toString(), body, 'the upstream received the same body both times')
    t.is(r.headers['content-length'], String(Buffer.byteLength(body)))
    t.is(r.headers['content-type'], 'application/json')
  }
  t.is(await count401(s.proxy, 'replayed'), 1)
})

test('a 401 is passed through, and nothing is sent again, when the token did not change', async (t) => {
  const s = await setup(t)
  const reply = await send(`${s.proxy.url}/stacks.json`)
  t.is(reply.status, 401)
  t.is(reply.body.length, 0)
  t.regex(reply.headers['www-authenticate'] ?? '', /invalid_token/)
  t.is((await recorded(s.sim, 1)).length, 1)
  t.is(await count401(s.proxy, 'passed_through'), 1)
  t.is(await count401(s.proxy, 'replayed'), 0)
})

test('a 401 to a chunked upload is passed through even though the token changed: the body cannot be sent twice', async (t) => {
  const s = await setup(t)
  rotateOnFirstUse(s, NEW)
  const reply = await send(`${s.proxy.url}/api/3/echo`, { method: 'POST', body: 'streamed body', chunked: true, headers: { 'content-type': 'text/plain' } })
  t.is(reply.status, 401)
  t.is(reply.body.length, 0)
  // Any replay would have been recorded before the caller got its answer.
  t.deepEqual(
    (await recorded(s.sim, 1)).map((r) => r.token),
    [OLD],
  )
  t.is(await count401(s.proxy, 'passed_through'), 1)
  t.is(await count401(s.proxy, 'replayed'), 0)
})

test('a 401 to a body larger than the replay limit is passed through even though the token changed', async (t) => {
  const s = await setup(t, { replayBodyLimit: 1024 })
  rotateOnFirstUse(s, NEW)
  const body = Buffer.alloc(4096, 'b')
  const reply = await send(`${s.proxy.url}/api/3/upload`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } })
  t.is(reply.status, 401)
  // Any replay would have been recorded before the caller got its answer.
  t.deepEqual(
    (await recorded(s.sim, 1)).map((r) => r.token),
    [OLD],
  )
  t.is(await count401(s.proxy, 'passed_through'), 1)
  t.is(await count401(s.proxy, 'replayed'), 0)
})

test('a body exactly at the replay limit is still replayed', async (t) => {
  const s = await setup(t, { replayBodyLimit: 1024 })
  rotateOnFirstUse(s, NEW)
  const body = Buffer.alloc(1024, 'e')
  const reply = await send(`${s.proxy.url}/api/3/upload`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } })
  t.is(reply.status, 200)
  t.deepEqual(JSON.parse(reply.body.toString()), { response: { bytes: 1024 } })
  const requests = await recorded(s.sim, 2)
  t.deepEqual(
    requests.map((r) => [r.token, r.bodyBytes]),
    [
      [OLD, 1024],
      [NEW, 1024],
    ],
  )
})

test('a request is replayed at most once, even if the new token is refused too', async (t) => {
  const s = await setup(t)
  rotateOnFirstUse(s, 'another-token-cloud66-rejects')
  const reply = await send(`${s.proxy.url}/stacks.json`)
  t.is(reply.status, 401)
  t.is(reply.body.length, 0)
  t.deepEqual(
    (await recorded(s.sim, 2)).map((r) => r.token),
    [OLD, 'another-token-cloud66-rejects'],
  )
  t.is(await count401(s.proxy, 'replayed'), 1)
  t.is(await count401(s.proxy, 'passed_through'), 1)
})

test('after a replay, later requests use the new token straight away', async (t) => {
  const s = await setup(t)
  rotateOnFirstUse(s, NEW)
  t.is((await send(`${s.proxy.url}/stacks.json`)).status, 200)
  t.is((await send(`${s.proxy.url}/stacks.json?page=2`)).status, 200)
  const requests = await recorded(s.sim, 3)
  t.deepEqual(
    requests.map((r) => r.token),
    [OLD, NEW, NEW],
  )
  t.is(await count401(s.proxy, 'replayed'), 1)
})

test('a 401 that cannot be replayed carries a JSON hint header, and the next request already has the new token', async (t) => {
  const s = await setup(t)
  rotateOnFirstUse(s, NEW)
  const reply = await send(`${s.proxy.url}/api/3/echo`, { method: 'POST', body: 'streamed body', chunked: true, headers: { 'content-type': 'text/plain' } })
  t.is(reply.status, 401)
  t.is(reply.body.length, 0, "Cloud 66's empty 401 body is untouched")
  const hint = JSON.parse(String(reply.headers['x-c66-proxy-hint'])) as { error: string; message: string }
  t.is(hint.error, 'upstream_unauthorized')
  t.regex(hint.message, /c66-proxy token set/, 'no OAuth here, so the hint names a step that works without it')
  t.false(hint.message.includes(OLD) || hint.message.includes(NEW), 'the hint names no token')
  // The token was re-read in the background, so the caller's retry succeeds at once.
  const again = await send(`${s.proxy.url}/stacks.json`)
  t.is(again.status, 200)
  t.is((await recorded(s.sim, 2)).at(-1)?.token, NEW)
})
