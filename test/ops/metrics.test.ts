import { randomUUID } from 'node:crypto'
import test from 'ava'
import { ALL_SCOPES, startSimulator } from '../../src/simulator/index.js'
import { startProxy } from '../helpers/proxy.js'
import { rawRequest } from '../helpers/raw-http.js'

interface Sample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

/** Parses Prometheus text: every sample line, plus the names declared in # HELP / # TYPE lines. */
function parse(text: string): { samples: Sample[]; declared: string[] } {
  const samples: Sample[] = []
  const declared: string[] = []
  for (const line of text.split('\n')) {
    if (line === '') continue
    const meta = /^# (?:HELP|TYPE) (\S+)/.exec(line)
    if (meta) {
      declared.push(meta[1] ?? '')
      continue
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line)
    if (!m) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = l[2] ?? ''
    samples.push({ name: m[1] ?? '', labels, value: Number(m[3]) })
  }
  return { samples, declared }
}

const find = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}) =>
  samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))

test('/-/metrics is Prometheus text whose every metric is c66_proxy_ prefixed, with the documented series, bounded route labels and no raw ids', async (t) => {
  const sim = await startSimulator({ budgetPerToken: 3, tokens: { 'sim-token': ALL_SCOPES, 'direct-token': ALL_SCOPES } })
  t.teardown(() => sim.close())
  const direct = (await (await fetch(`${sim.url.origin}/api/3/stacks`, { headers: { authorization: 'Bearer direct-token' } })).json()) as {
    response: Array<{ uid: string }>
  }
  const uid = direct.response[0]?.uid ?? ''
  t.regex(uid, /^[0-9a-f]{32}$/)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'sim-token' }, flags: { responseTimeout: '1s' } })
  const unique = `zz-${randomUUID()}`

  // Budget of 3: two stack reads and one hung request, then Cloud 66 throttles (last: after its
  // 503, answered as 429, the proxy holds the caller's requests until the hour ends).
  t.is((await fetch(`${proxy.url}/stacks/${uid}/servers`)).status, 200)
  t.is((await fetch(`${proxy.url}/api/3/stacks/${uid}/servers.json`)).status, 200)
  t.is((await fetch(`${proxy.url}/api/3/hang`)).status, 504)
  t.is((await fetch(`${proxy.url}/${unique}/${uid}`)).status, 404)
  t.is((await fetch(`${proxy.url}/stacks`, { method: 'PROPFIND' })).status, 404)
  t.is((await rawRequest(proxy.port, `GET /stacks HTTP/1.1\r\nHost: rebind.example:${proxy.port}\r\nConnection: close\r\n\r\n`)).status, 403)
  t.is((await fetch(`${proxy.url}/stacks`)).status, 429)

  const res = await fetch(`${proxy.url}/-/metrics`)
  t.is(res.status, 200)
  t.regex(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  const { samples, declared } = parse(text)

  t.deepEqual(
    [...new Set([...declared, ...samples.map((s) => s.name)])].filter((n) => !n.startsWith('c66_proxy_')),
    [],
    'only c66_proxy_ names',
  )

  t.is(find(samples, 'c66_proxy_requests_total', { method: 'GET', route: '/stacks/:id/servers', status: '200' })[0]?.value, 2)
  t.is(find(samples, 'c66_proxy_requests_total', { method: 'GET', route: '/stacks', status: '429' })[0]?.value, 1)
  t.true(declared.includes('c66_proxy_upstream_budget_used') && declared.includes('c66_proxy_upstream_budget_remaining'), 'the hourly budget')
  t.is(find(samples, 'c66_proxy_upstream_budget_remaining')[0]?.value, 0, "Cloud 66's X-RateLimit-Remaining: 0")
  t.true(declared.includes('c66_proxy_requests_shared_total'))
  t.is(find(samples, 'c66_proxy_requests_total', { method: 'GET', route: 'other', status: '404' })[0]?.value, 1)
  t.is(find(samples, 'c66_proxy_requests_total', { method: 'other', route: '/stacks', status: '404' })[0]?.value, 1, 'unknown methods are labelled other')
  t.is(find(samples, 'c66_proxy_requests_total', { status: '403' })[0]?.value, 1)
  t.is(find(samples, 'c66_proxy_request_duration_seconds_count', { route: '/stacks/:id/servers' })[0]?.value, 2)
  t.true(find(samples, 'c66_proxy_request_duration_seconds_bucket', { route: '/stacks/:id/servers', le: '+Inf' }).length === 1)
  t.is(find(samples, 'c66_proxy_requests_in_flight')[0]?.value, 1, 'the scrape itself is in flight')
  t.is(find(samples, 'c66_proxy_upstream_errors_total', { reason: 'response_timeout' })[0]?.value, 1)
  t.is(find(samples, 'c66_proxy_upstream_throttled_total')[0]?.value, 1)
  t.is(find(samples, 'c66_proxy_rejected_requests_total', { reason: 'host' })[0]?.value, 1)
  const lookups = find(samples, 'c66_proxy_token_lookups_total', { source: 'CLOUD66_ACCESS_TOKEN' })
  t.is(
    lookups.reduce((sum, s) => sum + s.value, 0),
    6,
    'one lookup per forwarded request',
  )
  t.true(find(samples, 'c66_proxy_process_resident_memory_bytes')[0]!.value > 0)
  t.true(find(samples, 'c66_proxy_nodejs_eventloop_lag_seconds').length === 1)

  const routes = new Set(samples.map((s) => s.labels['route']).filter((r): r is string => r !== undefined))
  for (const route of routes) t.regex(route, /^(other|(\/[a-z_]+|\/:id)+|\/-\/[a-z]*)$/, route)
  t.false(text.includes(uid), 'no stack uid in any label')
  t.false(text.includes(unique), 'no raw path in any label')
  t.false(text.includes('rebind.example'))
  t.false(text.includes('sim-token'))
})

test('metrics of two proxies in one process are kept apart: each has its own registry', async (t) => {
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const a = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'sim-token' } })
  const b = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'sim-token' } })
  t.is((await fetch(`${a.url}/stacks`)).status, 200)
  const count = async (url: string) =>
    find(parse(await (await fetch(`${url}/-/metrics`)).text()).samples, 'c66_proxy_requests_total', { route: '/stacks' })[0]?.value
  t.is(await count(a.url), 1)
  t.is(await count(b.url), undefined)
})

test('token lookups are counted by source and result, and a lookup that finds no token counts as missing', async (t) => {
  const sim = await startSimulator()
  t.teardown(() => sim.close())
  const withToken = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: 'sim-token' } })
  const noToken = await startProxy(t, { upstream: sim.url })
  for (let i = 0; i < 3; i++) {
    t.is((await fetch(`${withToken.url}/stacks`)).status, 200)
    t.is((await fetch(`${noToken.url}/stacks`)).status, 401)
  }
  const lookups = async (url: string) =>
    find(parse(await (await fetch(`${url}/-/metrics`)).text()).samples, 'c66_proxy_token_lookups_total').map((s) => [
      s.labels['source'],
      s.labels['result'],
      s.value,
    ])
  t.deepEqual(await lookups(withToken.url), [
    ['CLOUD66_ACCESS_TOKEN', 'loaded', 1],
    ['CLOUD66_ACCESS_TOKEN', 'cache_hit', 2],
  ])
  t.deepEqual(await lookups(noToken.url), [['none', 'missing', 3]])
})
