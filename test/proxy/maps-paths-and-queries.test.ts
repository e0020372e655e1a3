// Forwarding contract, part 1: where a request goes. Both base URLs tools are configured with
// (`http://127.0.0.1:8066` and `http://127.0.0.1:8066/api/3`) reach `<upstream>/api/3/<rest>`,
// and the query string arrives byte for byte (Cloud 66 clients send unencoded values) except the
// token parameters Doorkeeper would accept, which are removed.
import test, { type ExecutionContext } from 'ava'
import { rawRequest } from '../helpers/raw-http.js'
import { startProxy, type StartedProxy } from '../helpers/proxy.js'
import { SIM_TOKEN, recorded, send, startSim } from '../helpers/forwarding.js'
import type { Simulator } from '../../src/simulator/index.js'

async function setup(t: ExecutionContext): Promise<{ sim: Simulator; proxy: StartedProxy }> {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  return { sim, proxy }
}

/** Sends `target` exactly as written (no client-side normalisation) and returns what the upstream saw. */
async function forwardRaw(t: ExecutionContext, target: string): Promise<{ status: number; upstreamUrl: string | undefined; token: string | undefined }> {
  const { sim, proxy } = await setup(t)
  const reply = await rawRequest(proxy.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nConnection: close\r\n\r\n`)
  const [seen] = await recorded(sim, 1)
  return { status: reply.status, upstreamUrl: seen?.url, token: seen?.token }
}

const reachesUpstreamAs = test.macro({
  async exec(t, target: string, expected: string) {
    const { upstreamUrl } = await forwardRaw(t, target)
    t.is(upstreamUrl, expected)
  },
  title: (given, target: string, expected: string) => given ?? `${target} reaches the upstream as ${expected}`,
})

test('a path under /api/3 keeps its prefix', reachesUpstreamAs, '/api/3/stacks', '/api/3/stacks')
test('a path without /api/3 gets the prefix added', reachesUpstreamAs, '/stacks', '/api/3/stacks')
test('a .json suffix is forwarded as sent', reachesUpstreamAs, '/stacks.json', '/api/3/stacks.json')
test('a nested path without the prefix keeps every segment', reachesUpstreamAs, '/stacks/abc123/servers.json', '/api/3/stacks/abc123/servers.json')
test('/api/3 itself maps to the API root', reachesUpstreamAs, '/api/3', '/api/3/')
test('percent-escapes in the path are not decoded or re-encoded', reachesUpstreamAs, '/stacks/a%20b%7Bc%7D', '/api/3/stacks/a%20b%7Bc%7D')
test('a path that merely starts with "api" is not mistaken for the prefix', reachesUpstreamAs, '/api/30/stacks', '/api/3/api/30/stacks')

test('both base URLs reach the same upstream resource and get the same answer', async (t) => {
  const { sim, proxy } = await setup(t)
  const withPrefix = await send(`${proxy.url}/api/3/stacks.json?page=2`)
  const withoutPrefix = await send(`${proxy.url}/stacks.json?page=2`)
  t.is(withPrefix.status, 200)
  t.is(withoutPrefix.status, 200)
  t.deepEqual(withoutPrefix.body, withPrefix.body)
  t.deepEqual(
    (await recorded(sim, 2)).map((r) => r.url),
    ['/api/3/stacks.json?page=2', '/api/3/stacks.json?page=2'],
  )
})

const keepsQueryBytes = test.macro({
  async exec(t, query: string) {
    const { upstreamUrl } = await forwardRaw(t, `/stacks?${query}`)
    t.is(upstreamUrl, `/api/3/stacks?${query}`)
  },
  title: (given, query: string) => given ?? `the query "${query}" arrives byte for byte`,
})

test('unencoded characters cx sends in filters arrive unencoded', keepsQueryBytes, 'filter_name=a|b{c}&filter_git_branch=feature/x')
test('an encoded slash inside a query value is not decoded', keepsQueryBytes, 'filter_git_repo=git%40github.com%3Aacme%2Fapp.git&page=2')
test('plus signs, spaces-as-%20 and empty values stay as sent', keepsQueryBytes, 'q=a+b&r=a%20b&empty=&flag')
test('mixed-case escapes and repeated keys stay as sent', keepsQueryBytes, 'services[]=web&services[]=worker&x=%2f%2F%e2%82%ac')
test('a query whose names merely contain "token" is kept', keepsQueryBytes, 'my_access_token_count=3&tokens=1&xaccess_token=2')

const dropsTokenParams = test.macro({
  async exec(t, query: string, expected: string) {
    const { upstreamUrl, token } = await forwardRaw(t, `/stacks?${query}`)
    // An emptied query may leave its "?" behind; either spelling names the same resource.
    if (expected === '') t.regex(upstreamUrl ?? '', /^\/api\/3\/stacks\??$/)
    else t.is(upstreamUrl, `/api/3/stacks?${expected}`)
    t.is(token, SIM_TOKEN, 'the upstream authenticated the proxy token, not a caller-supplied one')
  },
  title: (given, query: string, expected: string) => given ?? `"${query}" reaches the upstream as "${expected}"`,
})

test(
  'an access_token parameter is removed and the rest kept in order',
  dropsTokenParams,
  'page=2&access_token=CALLER&filter_name=a|b',
  'page=2&filter_name=a|b',
)
test('a bearer_token parameter is removed', dropsTokenParams, 'bearer_token=CALLER&page=3', 'page=3')
test('a percent-encoded parameter name (access%5Ftoken) is removed', dropsTokenParams, 'access%5Ftoken=CALLER&page=1', 'page=1')
test('a fully percent-encoded name (%62earer_token) is removed', dropsTokenParams, 'page=1&%62earer%5Ftoken=CALLER', 'page=1')
test('an array-style access_token[] parameter is removed', dropsTokenParams, 'access_token[]=CALLER&page=1', 'page=1')
test('a token parameter without a value is removed', dropsTokenParams, 'access_token&page=1', 'page=1')
test('a query holding only token parameters arrives empty', dropsTokenParams, 'access_token=CALLER&bearer_token=CALLER', '')

test('a token parameter after a ";" separator is removed without dropping its neighbour', async (t) => {
  // Rack 2 (Rails 5/6, as Cloud 66 runs) also splits a query on ";", so "page=2;access_token=x"
  // is two parameters: the token must go, page=2 must still arrive.
  const { upstreamUrl, token } = await forwardRaw(t, '/stacks?page=2;access_token=CALLER&filter_name=web')
  t.is(upstreamUrl, '/api/3/stacks?page=2&filter_name=web')
  t.is(token, SIM_TOKEN)
})

test('a token parameter before a ";" separator is removed and the rest of the part kept', async (t) => {
  const { upstreamUrl } = await forwardRaw(t, '/stacks?bearer_token=CALLER;page=2;filter_name=a|b')
  t.is(upstreamUrl, '/api/3/stacks?page=2;filter_name=a|b')
})

test('the caller-supplied token never reaches the upstream in any form', async (t) => {
  const { sim, proxy } = await setup(t)
  const caller = 'caller-query-token-0123456789'
  const targets = [
    `/stacks?access_token=${caller}`,
    `/api/3/stacks?bearer_token=${caller}`,
    `/stacks?access%5ftoken=${caller}`,
    `/stacks?page=1;access_token=${caller}`,
  ]
  for (const target of targets) {
    const reply = await rawRequest(proxy.port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\nConnection: close\r\n\r\n`)
    t.is(reply.status, 200, target)
  }
  const seen = await recorded(sim, targets.length)
  t.is(seen.length, targets.length)
  for (const record of seen) {
    t.false(record.url.includes(caller), record.url)
    t.is(record.token, SIM_TOKEN)
  }
})
