// Issue 13: the opt-in micro-cache (--cache-ttl). A dashboard polling the same URLs every few
// seconds gets them from the proxy within the TTL; what Cloud 66 says must not be kept is not
// kept; a write by the same caller to a stack drops what it may have changed; nothing is ever
// served to another caller; memory stays within --cache-max-bytes. The proxy's clock is the
// test's, so ages and expiry are exact.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { listenForTest, metricValue, metricsText, send, SIM_TOKEN, startSim } from '../helpers/forwarding.js'
import { FakeClock } from '../helpers/fake-clock.js'
import { startProxy } from '../helpers/proxy.js'
import { until } from '../helpers/wait.js'
import type { Simulator } from '../../src/simulator/index.js'

const calls = (sim: Simulator, path: string) => sim.requests.filter((r) => r.url === `/api/3${path}`).length

async function stack(t: Parameters<typeof startSim>[0], flags: Record<string, unknown> = { cacheTtl: '5s' }) {
  const clock = new FakeClock()
  const sim = await startSim(t, { clock })
  const proxy = await startProxy(t, { upstream: sim.url, flags, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN }, io: { clock } })
  return { sim, proxy, clock }
}

test('within the TTL a GET is answered from the cache with Age and X-C66-Proxy-Cache: hit; after it, Cloud 66 is asked again', async (t) => {
  const { sim, proxy, clock } = await stack(t)
  const first = await send(`${proxy.url}/stacks.json`)
  t.is(first.status, 200)
  t.is(first.headers['x-c66-proxy-cache'], undefined)
  clock.advance(3_000)
  const hit = await send(`${proxy.url}/stacks.json`)
  t.is(hit.status, 200)
  t.is(hit.headers['x-c66-proxy-cache'], 'hit')
  t.is(hit.headers['age'], '3')
  t.is(hit.body.toString(), first.body.toString())
  t.is(hit.headers['content-length'], String(first.body.length))
  t.is(calls(sim, '/stacks.json'), 1)
  clock.advance(2_000)
  const expired = await send(`${proxy.url}/stacks.json`)
  t.is(expired.headers['x-c66-proxy-cache'], undefined)
  t.is(calls(sim, '/stacks.json'), 2)
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_requests_shared_total', { how: 'cache' }), 1)
  // A cache hit spends none of the hourly budget.
  t.is(metricValue(await metricsText(proxy), 'c66_proxy_upstream_budget_used'), 2)
})

test('the cache is off by default', async (t) => {
  const { sim, proxy } = await stack(t, {})
  await send(`${proxy.url}/stacks.json`)
  const again = await send(`${proxy.url}/stacks.json`)
  t.is(again.headers['x-c66-proxy-cache'], undefined)
  t.is(calls(sim, '/stacks.json'), 2)
})

test("a write to a stack drops that stack's entries and the stack list, not other stacks'", async (t) => {
  const { sim, proxy } = await stack(t)
  const stacks = (JSON.parse((await send(`${proxy.url}/stacks.json`)).body.toString()) as { response: Array<{ uid: string }> }).response
  const [a, b] = stacks.map((s) => s.uid)
  t.truthy(a && b && a !== b)
  const aPath = `/stacks/${a}/servers.json`
  const bPath = `/stacks/${b}/servers.json`
  for (const p of [aPath, bPath, `/stacks/${a}.json`]) await send(`${proxy.url}${p}`)
  for (const p of [aPath, bPath, `/stacks/${a}.json`, '/stacks.json']) t.is((await send(`${proxy.url}${p}`)).headers['x-c66-proxy-cache'], 'hit', p)

  const deploy = await send(`${proxy.url}/stacks/${a}/deployments.json`, { method: 'POST', body: '', headers: { 'content-type': 'application/json' } })
  t.true(deploy.status < 500, String(deploy.status))
  t.is((await send(`${proxy.url}${aPath}`)).headers['x-c66-proxy-cache'], undefined, 'the written stack is asked again')
  t.is((await send(`${proxy.url}/stacks/${a}.json`)).headers['x-c66-proxy-cache'], undefined)
  t.is((await send(`${proxy.url}/stacks.json`)).headers['x-c66-proxy-cache'], undefined, 'the stack list too')
  t.is((await send(`${proxy.url}${bPath}`)).headers['x-c66-proxy-cache'], 'hit', 'another stack stays cached')
  t.is(calls(sim, aPath), 2)
})

test("a write outside any stack drops all of the caller's entries", async (t) => {
  const { proxy } = await stack(t)
  await send(`${proxy.url}/stacks.json`)
  await send(`${proxy.url}/accounts.json`)
  await send(`${proxy.url}/stacks.json`, { method: 'POST', body: 'name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.is((await send(`${proxy.url}/stacks.json`)).headers['x-c66-proxy-cache'], undefined)
  t.is((await send(`${proxy.url}/accounts.json`)).headers['x-c66-proxy-cache'], undefined)
})

test('answers Cloud 66 marks no-store or no-cache, other statuses, Vary: * and HEADs are not cached', async (t) => {
  // A small upstream of our own, for headers the simulator never sends.
  let count = 0
  const upstream = http.createServer((req, res) => {
    count += 1
    const url = req.url ?? ''
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (url.includes('no-store')) headers['cache-control'] = 'private, no-store'
    if (url.includes('no-cache')) headers['cache-control'] = 'no-cache'
    if (url.includes('vary')) headers['vary'] = '*'
    res.writeHead(url.includes('missing') ? 404 : 200, headers).end('{"response":{}}')
  })
  const { port } = await listenForTest(t, upstream)
  const proxy = await startProxy(t, { upstream: `http://127.0.0.1:${port}`, flags: { cacheTtl: '5s' }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  for (const path of ['/no-store', '/no-cache', '/vary', '/missing', '/fine']) {
    const before = count
    await send(`${proxy.url}${path}`)
    const second = await send(`${proxy.url}${path}`)
    t.is(count - before, path === '/fine' ? 1 : 2, path)
    t.is(second.headers['x-c66-proxy-cache'], path === '/fine' ? 'hit' : undefined, path)
  }
  const before = count
  await send(`${proxy.url}/head`, { method: 'HEAD' })
  await send(`${proxy.url}/head`, { method: 'HEAD' })
  t.is(count - before, 2)
})

test('the cache keeps within --cache-max-bytes (least recently used goes first) and never keeps an answer over 1 MiB', async (t) => {
  const { sim, proxy } = await stack(t, { cacheTtl: '5s', cacheMaxBytes: 50_000 })
  for (const n of [1, 2, 3]) await send(`${proxy.url}/big?bytes=20000&n=${n}`)
  // 3 × ~20 kB do not fit in 50 kB: the first went.
  t.is((await send(`${proxy.url}/big?bytes=20000&n=3`)).headers['x-c66-proxy-cache'], 'hit')
  t.is((await send(`${proxy.url}/big?bytes=20000&n=1`)).headers['x-c66-proxy-cache'], undefined)
  const big = await startProxy(t, { upstream: sim.url, flags: { cacheTtl: '5s', cacheMaxBytes: 64 * 1024 * 1024 }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  await send(`${big.url}/big?bytes=${2 * 1024 * 1024}`)
  const again = await send(`${big.url}/big?bytes=${2 * 1024 * 1024}`)
  t.is(again.headers['x-c66-proxy-cache'], undefined)
  t.is(again.body.length, 2 * 1024 * 1024)
})

test('an entry is never served for another token: after the token changes Cloud 66 is asked again, with the new one', async (t) => {
  const sim = await startSim(t, { tokens: { 'token-a-0123456789': ['public'], 'token-b-0123456789': ['public'] } })
  const dir = await mkdtemp(join(tmpdir(), 'c66-cache-token-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'token')
  await writeFile(file, 'token-a-0123456789\n')
  const proxy = await startProxy(t, { upstream: sim.url, flags: { cacheTtl: '5s', tokenFile: file } })
  await send(`${proxy.url}/stacks.json`)
  t.is((await send(`${proxy.url}/stacks.json`)).headers['x-c66-proxy-cache'], 'hit')
  await writeFile(file, 'token-b-0123456789\n')
  const next = await until('the proxy reads the new token', async () => {
    const reply = await send(`${proxy.url}/stacks.json`)
    return reply.headers['x-c66-proxy-cache'] === undefined ? reply : undefined
  })
  t.is(next.status, 200)
  t.is(sim.requests.at(-1)?.token, 'token-b-0123456789')
})

test('a bad --cache-ttl is a configuration error', async (t) => {
  const { loadConfig } = await import('../../src/config/load.js')
  for (const bad of ['0s', '-5s', 'soon', '2h']) {
    t.throws(() => loadConfig({ flags: { cacheTtl: bad }, env: { HOME: '/nonexistent' } }), { message: /--cache-ttl/ }, bad)
  }
  t.is(loadConfig({ flags: { cacheTtl: '750ms' }, env: { HOME: '/nonexistent' } }).cacheTtlMs, 750)
  t.is(loadConfig({ flags: {}, env: { HOME: '/nonexistent' } }).cacheTtlMs, 0)
})
