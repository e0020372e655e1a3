import { readFile } from 'node:fs/promises'
import test from 'ava'
import { SIM_TOKEN, send, startSim } from '../helpers/forwarding.js'
import { createKey, errorCode, gwRequest, loginMember, startGateway, startGatewaySim } from '../helpers/gateway.js'
import { startProxy } from '../helpers/proxy.js'

// Issue 9, finding 4: Rack::MethodOverride runs a POST whose form or multipart body holds
// `_method=DELETE` as a DELETE. The proxy dropped the override headers but passed `_method` on,
// so DELETE deny rules, a key's methods and the audit log's method all judged a POST. Overrides
// are now refused outright (400 method_override), in every place Rack or Rails reads them.

const BOUNDARY = 'B0undary'
const multipart = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--${BOUNDARY}--\r\n`

const OVERRIDES: ReadonlyArray<{ name: string; path: string; body?: string; headers?: Record<string, string> }> = [
  { name: 'form body', path: '/stacks/abc.json', body: '_method=DELETE', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  { name: 'form body, encoded name', path: '/stacks/abc.json', body: '%5Fmethod=DELETE', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
  { name: 'body without a Content-Type (Rack reads it as a form)', path: '/stacks/abc.json', body: 'x=1&_method=delete' },
  { name: 'multipart body', path: '/stacks/abc.json', body: multipart, headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` } },
  { name: 'query string', path: '/stacks/abc.json?_method=DELETE' },
  { name: 'query string, encoded', path: '/stacks/abc.json?%5f%6d%65%74%68%6f%64=DELETE' },
  { name: 'X-HTTP-Method-Override header', path: '/stacks/abc.json', headers: { 'x-http-method-override': 'DELETE' } },
]

test('finding 4, local: every form of method override is refused with 400 and nothing reaches Cloud 66 past a DELETE deny rule', async (t) => {
  const sim = await startSim(t)
  const proxy = await startProxy(t, { upstream: sim.url, flags: { denyPaths: ['DELETE /stacks/*'] }, env: { CLOUD66_ACCESS_TOKEN: SIM_TOKEN } })
  for (const o of OVERRIDES) {
    const reply = await send(`${proxy.url}${o.path}`, { method: 'POST', ...(o.body === undefined ? {} : { body: o.body }), headers: o.headers ?? {} })
    t.is(reply.status, 400, o.name)
    t.is((JSON.parse(reply.body.toString()) as { error: string }).error, 'method_override', o.name)
  }
  t.is(sim.requests.length, 0)
  // An ordinary form POST still goes through, with its bytes.
  const ok = await send(`${proxy.url}/api/3/echo`, {
    method: 'POST',
    body: 'method=fine&x_method=2',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  })
  t.is(ok.status, 200)
  t.is(sim.requests[0]?.body.toString(), 'method=fine&x_method=2')
})

test('finding 4, gateway: a key limited to GET and POST cannot DELETE through _method, and the audit log records no false method', async (t) => {
  const sim = await startGatewaySim(t)
  const gw = await startGateway(t, { upstream: sim.url, flags: { scopes: 'public redeploy' } })
  const { cookie } = await loginMember(t, gw, sim, 1)
  const { key } = await createKey(gw, cookie, { label: 'no-delete', methods: ['GET', 'POST'] })
  const before = sim.requests.length
  const res = await gwRequest(gw, '/stacks/abc/deployments/1.json', {
    method: 'POST',
    bearer: key,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: '_method=DELETE',
  })
  t.is(res.status, 400)
  t.is(errorCode(res), 'method_override')
  t.is(sim.requests.length, before)
  const audit = await readFile(gw.auditLog, 'utf8').catch(() => '')
  for (const line of audit.split('\n').filter(Boolean)) {
    const record = JSON.parse(line) as { method?: string; status?: number }
    t.false(record.method === 'POST' && record.status === 200, 'no POST was recorded as having run')
  }
})
