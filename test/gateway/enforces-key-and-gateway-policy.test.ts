import test, { type ExecutionContext } from 'ava'
import type { Simulator } from '../../src/simulator/index.js'
import { createKey, errorCode, gwRequest, loginMember, startGateway, startGatewaySim, type GwReply, type StartedGateway } from '../helpers/gateway.js'

// Policy (issue 4): a key may be read-only, limited to methods, paths and stacks; the gateway
// denies endpoints that turn an API token into something bigger for every key. A refusal is a
// 403 with a stable code and never reaches Cloud 66.

interface Started {
  readonly sim: Simulator
  readonly gw: StartedGateway
  readonly cookie: string
}

async function started(t: ExecutionContext, flags: Record<string, unknown> = {}): Promise<Started> {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { scopes: 'public redeploy', ...flags } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  return { sim, gw, cookie }
}

/** Sends the request and checks it was refused with `code` without anything reaching Cloud 66. */
async function refused(t: ExecutionContext, s: Started, key: string, method: string, target: string, code: string): Promise<GwReply> {
  const before = s.sim.requests.length
  const res = await gwRequest(s.gw, target, { method, bearer: key, ...(method === 'GET' || method === 'HEAD' ? {} : { json: { x: 1 } }) })
  t.is(res.status, 403, `${method} ${target}: ${res.body}`)
  if (method !== 'HEAD') t.is(errorCode(res), code, `${method} ${target}`)
  t.is(s.sim.requests.length, before, `${method} ${target} never reached Cloud 66`)
  return res
}

/** Sends the request and checks it reached Cloud 66 (whatever Cloud 66 answered). */
async function reached(t: ExecutionContext, s: Started, key: string, method: string, target: string): Promise<GwReply> {
  const before = s.sim.requests.length
  const res = await gwRequest(s.gw, target, { method, bearer: key, ...(method === 'GET' || method === 'HEAD' ? {} : { json: { x: 1 } }) })
  t.not(res.status, 403, `${method} ${target}: ${res.body}`)
  t.is(s.sim.requests.length, before + 1, `${method} ${target} reached Cloud 66`)
  return res
}

async function stackUids(s: Started, key: string): Promise<string[]> {
  const res = await gwRequest(s.gw, '/stacks.json', { bearer: key })
  return res.json<{ response: Array<{ uid: string }> }>().response.map((st) => st.uid)
}

test('a read-only key may GET and HEAD; POST, PUT, PATCH and DELETE get 403 read_only_key and never reach Cloud 66', async (t) => {
  const s = await started(t)
  const { key } = await createKey(s.gw, s.cookie, { label: 'reader', read_only: true })
  await reached(t, s, key, 'GET', '/api/3/echo')
  await reached(t, s, key, 'HEAD', '/api/3/echo')
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) await refused(t, s, key, method, '/api/3/echo', 'read_only_key')
  const open = (await createKey(s.gw, s.cookie, { label: 'writer' })).key
  await reached(t, s, open, 'POST', '/api/3/echo')
})

test('a key limited to some methods refuses the others with denied_by_policy', async (t) => {
  const s = await started(t)
  const { key } = await createKey(s.gw, s.cookie, { methods: ['GET', 'POST'] })
  await reached(t, s, key, 'GET', '/api/3/echo')
  await reached(t, s, key, 'POST', '/api/3/echo')
  await refused(t, s, key, 'DELETE', '/api/3/echo', 'denied_by_policy')
  await refused(t, s, key, 'PUT', '/api/3/echo', 'denied_by_policy')
})

test('a key with allowed paths reaches only those, in either path form', async (t) => {
  const s = await started(t)
  const { key } = await createKey(s.gw, s.cookie, { allow_paths: ['GET /stacks/**'] })
  await reached(t, s, key, 'GET', '/stacks.json')
  await reached(t, s, key, 'GET', '/api/3/stacks')
  await refused(t, s, key, 'GET', '/api/3/echo', 'denied_by_policy')
  await refused(t, s, key, 'GET', '/accounts', 'denied_by_policy')
  await refused(t, s, key, 'POST', '/stacks', 'denied_by_policy')
})

test('a key with deny rules refuses matching paths however they are spelled', async (t) => {
  const s = await started(t)
  const { key } = await createKey(s.gw, s.cookie, { deny_paths: ['/stacks/*/servers', '?filter_name'] })
  const [uid = ''] = await stackUids(s, (await createKey(s.gw, s.cookie)).key)
  await reached(t, s, key, 'GET', `/stacks/${uid}.json`)
  for (const target of [`/stacks/${uid}/servers`, `/api/3/stacks/${uid}/servers.json`, `/api/3/stacks/${uid}/%73ervers`, `/stacks/${uid}/servers/`]) {
    await refused(t, s, key, 'GET', target, 'denied_by_policy')
  }
  await refused(t, s, key, 'GET', '/stacks.json?filter_name=x', 'denied_by_policy')
  await refused(t, s, key, 'GET', '/stacks.json?filter%5Fname=x', 'denied_by_policy')
})

test('a key limited to one stack reaches that stack only; other stacks and the stack list are refused', async (t) => {
  const s = await started(t)
  const [mine = '', other = ''] = await stackUids(s, (await createKey(s.gw, s.cookie)).key)
  t.not(mine, other)
  const { key } = await createKey(s.gw, s.cookie, { stack_ids: [mine] })
  await reached(t, s, key, 'GET', `/stacks/${mine}.json`)
  await reached(t, s, key, 'GET', `/api/3/stacks/${mine}/servers`)
  await reached(t, s, key, 'POST', `/api/3/stacks/${mine}/deployments`)
  await refused(t, s, key, 'GET', `/stacks/${other}.json`, 'denied_by_policy')
  await refused(t, s, key, 'POST', `/api/3/stacks/${other}/deployments`, 'denied_by_policy')
  await refused(t, s, key, 'GET', '/stacks.json', 'denied_by_policy')
  await refused(t, s, key, 'GET', '/api/3/stacks', 'denied_by_policy')
  await refused(t, s, key, 'GET', '/api/3/echo', 'denied_by_policy')
})

/** The defaults in config/default.json, each in several spellings (both path forms, suffixes, percent-encoding). */
const GATEWAY_DENIED: Readonly<Record<string, ReadonlyArray<[method: string, target: string]>>> = {
  '/accounts/otp': [
    ['GET', '/accounts/otp'],
    ['GET', '/api/3/accounts/otp.json'],
    ['GET', '/api/3/accounts/%6F%74%70'],
    ['GET', '/accounts/otp/'],
  ],
  '/jwt/fetch': [
    ['POST', '/jwt/fetch'],
    ['POST', '/api/3/jwt/fetch.json'],
    ['POST', '/api/3/%6Awt/fetch'],
  ],
  '?include_private_key': [
    ['GET', '/stacks/abc/servers/def.json?include_private_key=1'],
    ['GET', '/api/3/stacks/abc/servers/def?include%5Fprivate%5Fkey=true'],
    ['GET', '/api/3/stacks/abc/servers/def?a=1&include_private_key[]=1'],
  ],
  '/ssh_keys/access': [
    ['GET', '/ssh_keys/access'],
    ['GET', '/api/3/ssh_keys/access.json'],
    ['GET', '/api/3/ssh%5Fkeys/access'],
  ],
  '/users/registry-credentials': [
    ['GET', '/users/registry-credentials'],
    ['GET', '/api/3/users/registry-credentials.json'],
    ['GET', '/api/3/users/registry%2Dcredentials'],
  ],
}

for (const [rule, requests] of Object.entries(GATEWAY_DENIED)) {
  test(`by default the gateway refuses ${rule} for every key with denied_by_policy, however it is spelled`, async (t) => {
    const s = await started(t)
    const { key } = await createKey(s.gw, s.cookie, { label: 'unrestricted' })
    for (const [method, target] of requests) await refused(t, s, key, method, target, 'denied_by_policy')
  })
}

test('the gateway-wide deny rules are configurable: replacing them lets the defaults through and refuses the new ones', async (t) => {
  const s = await started(t, { gatewayDenyPaths: ['/stacks/*/deployments'] })
  const { key } = await createKey(s.gw, s.cookie)
  const [uid = ''] = await stackUids(s, key)
  await refused(t, s, key, 'POST', `/api/3/stacks/${uid}/deployments`, 'denied_by_policy')
  await refused(t, s, key, 'GET', `/stacks/${uid}/deployments.json`, 'denied_by_policy')
  await reached(t, s, key, 'GET', '/accounts/otp')
  await reached(t, s, key, 'GET', '/ssh_keys/access.json')
})
