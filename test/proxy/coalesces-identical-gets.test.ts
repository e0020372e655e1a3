// Issue 13: identical GETs of one caller that are on their way at the same time share one request
// to Cloud 66 (each spends the caller's hourly budget), and every one of them gets the whole
// answer. Requests that differ in what they ask for, carry conditions, or come from another
// caller never share; an answer too big to copy sends the waiters on their own.
import http from 'node:http'
import test from 'ava'
import { metricValue, metricsText, send, SIM_TOKEN, startSim } from '../helpers/forwarding.js'
import { startProxy } from '../helpers/proxy.js'
import type { StartedProxy } from '../helpers/proxy.js'
import type { Simulator } from '../../src/simulator/index.js'

/** A body that takes ~300 ms, for the requests that must each go on their own. */
const SLOW = '/slow?chunks=4&interval_ms=100'

/**
 * Opens the simulator's gate `name` once `count` requests are being handled by the proxy (and a
 * moment more, for the last to reach the point where it joins): until then the shared answer is
 * still on its way, however slowly this machine runs the test.
 */
async function openWhenAllArrived(sim: Simulator, proxy: StartedProxy, name: string, count: number): Promise<void> {
  const deadline = Date.now() + 15_000
  while (metricValue(await metricsText(proxy), 'c66_proxy_requests_in_flight') < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} requests reached the proxy`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await new Promise((resolve) => setTimeout(resolve, 150))
  sim.openGate(name)
}

const upstreamCalls = (sim: Simulator, prefix: string) => sim.requests.filter((r) => r.url.startsWith(`/api/3${prefix}`)).length

async function stack(t: Parameters<typeof startSim>[0], flags: Record<string, unknown> = {}) {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, flags, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  return { sim, proxy }
}

test('20 identical concurrent GETs reach Cloud 66 once, and all 20 get the complete answer', async (t) => {
  const { sim, proxy } = await stack(t)
  const sending = Promise.all(Array.from({ length: 20 }, () => send(`${proxy.url}/gate/twenty`)))
  await openWhenAllArrived(sim, proxy, 'twenty', 20)
  const replies = await sending
  t.deepEqual(
    replies.map((r) => r.status),
    Array<number>(20).fill(200),
  )
  const first = replies[0]?.body.toString() ?? ''
  t.deepEqual(JSON.parse(first), [{ gate: 'twenty' }], 'a complete JSON array')
  for (const r of replies) {
    t.is(r.body.toString(), first)
    t.is(r.headers['content-type'], 'application/json; charset=utf-8')
    t.is(r.headers['x-content-type-options'], 'nosniff', "the copies carry the proxy's security headers too")
  }
  t.is(upstreamCalls(sim, '/gate/twenty'), 1)
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_requests_shared_total', { how: 'coalesced' }), 19)
})

test('requests that differ in a representation header, a query or the method never share; identical ones do', async (t) => {
  const { sim, proxy } = await stack(t)
  const variants: Array<{ path: string; method: string; headers: Record<string, string> }> = []
  for (const path of ['/gate/variants', '/gate/variants?x=1']) {
    for (const accept of ['application/json', 'text/csv']) {
      for (const account of [undefined, '42']) {
        for (const encoding of [undefined, 'gzip']) {
          variants.push({
            path,
            method: 'GET',
            headers: { accept, ...(account ? { 'x-account': account } : {}), ...(encoding ? { 'accept-encoding': encoding } : {}) },
          })
        }
      }
    }
  }
  variants.push({ path: '/gate/variants', method: 'HEAD', headers: { accept: 'application/json' } })
  // Each variant three times, all at once, shuffled.
  const sends = variants.flatMap((v) => [v, v, v]).sort(() => Math.random() - 0.5)
  const sending = Promise.all(sends.map((v) => send(`${proxy.url}${v.path}`, { method: v.method, headers: v.headers })))
  await openWhenAllArrived(sim, proxy, 'variants', sends.length)
  const replies = await sending
  t.true(replies.every((r) => r.status === 200))
  const seen = sim.requests.filter((r) => r.url.startsWith('/api/3/gate/variants'))
  t.is(seen.length, variants.length, 'one upstream request per distinct request')
  for (const v of variants) {
    const matching = seen.filter(
      (r) =>
        r.method === v.method &&
        r.url === `/api/3${v.path}` &&
        r.headers.accept === v.headers['accept'] &&
        r.headers['x-account'] === v.headers['x-account'] &&
        (r.headers['accept-encoding'] ?? undefined) === v.headers['accept-encoding'],
    )
    t.is(matching.length, 1, JSON.stringify(v))
  }
})

test('conditional, range and no-cache requests and GETs with a body go on their own', async (t) => {
  const { sim, proxy } = await stack(t)
  const own: Array<Record<string, string>> = [
    { 'if-none-match': '"x"' },
    { range: 'bytes=0-1' },
    { 'cache-control': 'no-cache' },
    { pragma: 'no-cache' },
    { 'if-modified-since': 'Sat, 05 Dec 2026 00:00:00 GMT' },
  ]
  for (const headers of own) {
    const before = upstreamCalls(sim, '/slow')
    const replies = await Promise.all([0, 1, 2].map(() => send(`${proxy.url}${SLOW}`, { headers })))
    t.true(
      replies.every((r) => r.status === 200 || r.status === 206),
      JSON.stringify(headers),
    )
    t.is(upstreamCalls(sim, '/slow') - before, 3, JSON.stringify(headers))
  }
  const before = upstreamCalls(sim, '/echo')
  // Cloud 66 reads GET bodies (old cx builds send them): they are different requests.
  await Promise.all(['a', 'b', 'a'].map((body) => send(`${proxy.url}/echo`, { method: 'GET', body })))
  t.is(upstreamCalls(sim, '/echo') - before, 3)
})

test('an answer larger than 1 MiB is not copied: the waiters are let go to send their own, and all get every byte', async (t) => {
  const { sim, proxy } = await stack(t)
  const size = 3 * 1024 * 1024
  const replies = await Promise.all(Array.from({ length: 4 }, () => send(`${proxy.url}/big?bytes=${size}`)))
  for (const r of replies) {
    t.is(r.status, 200)
    t.is(r.body.length, size)
    t.true(
      r.body.every((b, k) => b === k % 256),
      'intact',
    )
  }
  t.is(upstreamCalls(sim, '/big'), 4)
})

test('when the first caller hangs up, the ones waiting on its request still get a full answer', async (t) => {
  const { sim, proxy } = await stack(t)
  const first = http.get(`${proxy.url}/gate/hangup`, { agent: false })
  first.on('error', () => undefined)
  const firstHead = new Promise((resolve) => first.on('response', resolve))
  await firstHead
  const waiting = Promise.all([0, 1, 2].map(() => send(`${proxy.url}/gate/hangup`)))
  // All four are in; the first one leaves before the answer is complete.
  const deadline = Date.now() + 15_000
  while (metricValue(await metricsText(proxy), 'c66_proxy_requests_in_flight') < 4 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await new Promise((resolve) => setTimeout(resolve, 150))
  first.destroy()
  await new Promise((resolve) => setTimeout(resolve, 100))
  sim.openGate('hangup')
  const replies = await waiting
  for (const r of replies) {
    t.is(r.status, 200)
    t.deepEqual(JSON.parse(r.body.toString()), [{ gate: 'hangup' }])
  }
})

test('--coalesce off sends every request', async (t) => {
  const { sim, proxy } = await stack(t, { coalesce: 'off' })
  await Promise.all(Array.from({ length: 10 }, () => send(`${proxy.url}${SLOW}`)))
  t.is(upstreamCalls(sim, '/slow'), 10)
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_requests_shared_total', { how: 'coalesced' }), 0)
})
